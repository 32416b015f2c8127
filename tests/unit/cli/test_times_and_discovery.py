"""Relative times on the command line (issue 20: README examples never expire) and how the CLI finds the local
stack from any folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from igpub_cli import times
from igpub_cli.deployment import Deployment, DeploymentNotFound, local_stack_files, user_state_file

NOW = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(("text", "delta"), [
    ("+2h", timedelta(hours=2)), ("+30m", timedelta(minutes=30)), ("+1d12h", timedelta(days=1, hours=12)),
    ("-7d", timedelta(days=-7)), ("+1w", timedelta(weeks=1)), ("+90s", timedelta(seconds=90)),
    ("now", timedelta(0)),
])
def test_relative_times(text: str, delta: timedelta) -> None:
    assert times.parse_when(text, now=NOW) == NOW + delta
    assert times.publish_at_value(text, now=NOW) == (NOW + delta).isoformat()


def test_iso_8601_passes_through_unchanged() -> None:
    assert times.publish_at_value("2026-12-01T09:00:00+01:00", now=NOW) == "2026-12-01T09:00:00+01:00"
    assert times.publish_at_value("garbage", now=NOW) == "garbage"  # the request's rules refuse it in words
    with pytest.raises(times.TimeFormatError, match="relative"):
        times.parse_when("tomorrow", now=NOW)


@pytest.mark.parametrize("n", [0, 1, 7, 59, 1000, 10**6])
@pytest.mark.parametrize("unit", list("wdhms"))
@pytest.mark.parametrize("sign", list("+-"))
def test_relative_is_the_sum_of_its_parts(n: int, unit: str, sign: str) -> None:
    seconds = n * {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
    assert times.relative(f"{sign}{n}{unit}") == timedelta(seconds=seconds if sign == "+" else -seconds)


def test_epoch_values() -> None:
    assert times.epoch_value("1764000000", now=NOW) == 1764000000
    assert times.epoch_value("2026-12-01", now=NOW) == int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    assert times.epoch_value("-1d", now=NOW) == int((NOW - timedelta(days=1)).timestamp())
    with pytest.raises(times.TimeFormatError, match="Unix seconds"):
        times.epoch_value("last week", now=NOW)


def _state(path: Path, stack: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stack": stack, "outputs": {}, "endpoint": "http://127.0.0.1:1", "fake": None}))


def test_the_local_stack_is_found_from_a_subfolder_then_from_the_user_state_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IGPUB_STACK_FILE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("IGPUB_EMU_PORT", "4999")
    checkout, elsewhere = tmp_path / "checkout", tmp_path / "elsewhere"
    (checkout / "docs" / "deep").mkdir(parents=True)
    elsewhere.mkdir()
    _state(checkout / ".run" / "stack.json", "from-checkout")
    _state(user_state_file(), "from-user-state")
    assert user_state_file() == tmp_path / "state" / "igpub" / "local-4999.json"
    monkeypatch.chdir(checkout / "docs" / "deep")
    assert Deployment.load().stack == "from-checkout"
    monkeypatch.chdir(elsewhere)
    assert local_stack_files()[-1] == user_state_file()
    assert Deployment.load().stack == "from-user-state"
    monkeypatch.setenv("IGPUB_STACK_FILE", str(checkout / ".run" / "stack.json"))
    assert Deployment.load().stack == "from-checkout"


def test_not_found_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IGPUB_STACK_FILE", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("IGPUB_EMU_PORT", "4998")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: no AWS call leaves
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # a refused connection is not retried with back-off
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DeploymentNotFound) as info:
        Deployment.load()
    message = str(info.value)
    assert f"no .run/stack.json in {tmp_path}" in message
    assert "local-4998.json" in message and "IGPUB_EMU_PORT=4998" in message and "IGPUB_STACK" in message


def test_a_stopped_local_stack_is_exit_code_3_with_the_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from igpub_cli.main import main

    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"stack": "igpub-local", "outputs": {"AccountsTableName": "t"},
                                 "endpoint": "http://127.0.0.1:9", "fake": None}))
    monkeypatch.setenv("IGPUB_STACK_FILE", str(state))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert main(["accounts"]) == 3
    err = capsys.readouterr().err
    assert "does not answer" in err and "make up" in err and "Traceback" not in err
