"""How local/e2e_groups.py shares the stack tests out between groups, and reads the seconds they took."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from local import e2e_groups
from local.e2e_groups import AFTER_ALL, EVERY_GROUP, PINNED_TO_FIRST, Group, file_seconds, share_out


def groups(n: int) -> list[Group]:
    return [Group(k, 4566 + k - 1, 4580 + k - 1, Path(f"runs/g{k}")) for k in range(1, n + 1)]


SPECIAL = [*PINNED_TO_FIRST, *EVERY_GROUP, *AFTER_ALL]


@given(
    weights=st.dictionaries(st.from_regex(r"tests/e2e/test_[a-z]{1,8}\.py", fullmatch=True),
                            st.floats(0, 300, allow_nan=False), max_size=30),
    unknown=st.lists(st.from_regex(r"tests/integration/test_[a-z]{1,8}\.py", fullmatch=True), max_size=5),
    n=st.integers(1, 4),
)
def test_every_file_runs_once_and_the_groups_stay_within_one_file_of_each_other(
    weights: dict[str, float], unknown: list[str], n: int
) -> None:
    files = sorted({*weights, *unknown, *SPECIAL})
    seconds = {f: w for f, w in weights.items() if f not in SPECIAL}
    gs = groups(n)
    share_out(files, gs, seconds)
    placed = [f for g in gs for f in g.files if f not in EVERY_GROUP]
    assert sorted(placed) == sorted(f for f in files if f not in (*EVERY_GROUP, *AFTER_ALL))  # each once
    assert all(set(EVERY_GROUP) <= set(g.files) for g in gs)
    assert not any(set(AFTER_ALL) & set(g.files) for g in gs)  # after every group, over all stacks
    assert set(PINNED_TO_FIRST) <= set(gs[0].files)
    # last before the log audit: SAM CLI's servers warm up in the background during group 1's other files
    tail = [f for f in gs[0].files if f not in EVERY_GROUP][-len(PINNED_TO_FIRST):]
    assert tail == list(PINNED_TO_FIRST)
    heaviest = max([seconds.get(f, e2e_groups.DEFAULT_S) for f in files if f not in SPECIAL] or [0.0])
    pinned = sum(seconds.get(f, e2e_groups.DEFAULT_S) for f in PINNED_TO_FIRST)
    # longest first to the lightest group: no group ends more than one file (or the pinned ones) above another
    assert max(g.weight for g in gs) - min(g.weight for g in gs) <= max(heaviest, pinned) + 1e-6
    for g in gs:
        assert abs(g.weight - sum(seconds.get(f, e2e_groups.DEFAULT_S) for f in g.files if f not in EVERY_GROUP)) < 1e-6


def test_file_seconds_adds_up_each_files_tests(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">'
        '<testcase classname="tests.e2e.test_publish_e2e" name="test_a" time="1.25"/>'
        '<testcase classname="tests.e2e.test_publish_e2e" name="test_b[x]" time="2.5"/>'
        '<testcase classname="tests.e2e.test_sam_local.TestEvents" name="test_c" time="4"/>'
        '<testcase classname="tests.integration.test_posts_claims" name="test_d" time="0.05"/>'
        "</testsuite></testsuites>")
    assert file_seconds(junit) == {"tests/e2e/test_publish_e2e.py": 3.8, "tests/e2e/test_sam_local.py": 4.0,
                                   "tests/integration/test_posts_claims.py": 0.1}


def test_group_one_is_the_default_stack_and_the_others_deploy_its_build() -> None:
    one, two = groups(2)
    assert "IGPUB_SKIP_BUILD" not in one.env() and two.env()["IGPUB_SKIP_BUILD"] == "1"
    assert two.env()["IGPUB_STACK_FILE"] == str(Path("runs/g2/stack.json")) and two.env()["IGPUB_EMU_PORT"] == "4567"
