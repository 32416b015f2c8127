"""With SnapStart, igpub re-seeds the random module after each snapshot restore."""

from __future__ import annotations

import importlib
import random
import sys
import types
from collections.abc import Callable
from typing import Any

import igpub


def _restore(snapshot: object, hooks: list[Callable[[], None]]) -> list[float]:
    """One execution environment restored from the snapshot: the runtime sets the snapshot's state, runs
    the after-restore hooks, then the function draws its retry jitter."""
    random.setstate(snapshot)  # type: ignore[arg-type]
    for hook in hooks:
        hook()
    return [random.random() for _ in range(4)]


def test_environments_restored_from_one_snapshot_draw_different_jitter(monkeypatch: Any) -> None:
    hooks: list[Callable[[], None]] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_after_restore = hooks.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    importlib.reload(igpub)
    random.seed(1234)  # the state frozen in the snapshot
    snapshot = random.getstate()
    first, second = _restore(snapshot, hooks), _restore(snapshot, hooks)
    assert first != second  # without the hook both environments would repeat the snapshot's sequence
    assert _restore(snapshot, []) == _restore(snapshot, [])  # (which is what an unhooked restore does)


def test_outside_lambda_importing_igpub_works_and_leaves_the_random_state_alone(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails as it does off Lambda
    random.seed(7)
    state = random.getstate()
    importlib.reload(igpub)  # raises if the hook's import is not optional
    assert random.getstate() == state
