"""With SnapStart, igpub re-seeds the random module after each snapshot restore."""

from __future__ import annotations

import importlib
import random
import sys
import types
from typing import Any

import igpub


def test_registers_a_reseed_after_restore_when_the_runtime_offers_the_hook(monkeypatch: Any) -> None:
    registered: list[Any] = []
    hook = types.ModuleType("snapshot_restore_py")
    hook.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", hook)
    importlib.reload(igpub)
    assert registered == [random.seed]


def test_nothing_to_register_outside_lambda(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails as it does off Lambda
    importlib.reload(igpub)
    assert igpub.__doc__
