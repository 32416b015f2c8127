"""make chaos injects every fault kind the fake has, and the answers that hide a publish (after: true)."""

from __future__ import annotations

from typing import get_args

from bench.chaos import fault_mix
from fakeig.faults import AFTER_KINDS, FaultKind, FaultRule


def test_the_mix_is_valid_and_covers_every_kind() -> None:
    rules = [FaultRule.model_validate(r) for r in fault_mix(7)]
    assert {r.kind for r in rules} == set(get_args(FaultKind))
    hiding = {r.kind for r in rules if r.after and "media_publish" in r.match}
    assert {"http_500", "empty"} <= hiding <= set(AFTER_KINDS)
    assert fault_mix(7) == fault_mix(7)  # seeded: a run can be repeated
