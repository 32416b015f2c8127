"""The CLI explains itself: every subcommand has a description, every option and argument a help line,
defaults are shown; no stack needed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer

from igpub_cli.main import app, main


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    if hasattr(cmd, "commands"):  # a group (typer vendors click: no isinstance on click's classes)
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = list(_commands(ROOT))


def test_the_expected_commands_exist() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"connect", "accounts", "refresh", "post", "posts", "cancel", "reschedule", "hashtags add",
            "hashtags remove", "hashtags list", "hashtags discover", "hashtags budget"} <= names


@pytest.mark.parametrize(("path", "cmd"), COMMANDS[1:], ids=[" ".join(p) for p, _ in COMMANDS[1:]])
def test_every_subcommand_and_option_has_help(path: tuple[str, ...], cmd: Any) -> None:
    assert (cmd.help or "").strip(), f"igpub {' '.join(path)} has no description"
    for param in cmd.params:
        if param.name == "help":
            continue
        assert (getattr(param, "help", None) or "").strip(), f"igpub {' '.join(path)}: {param.name} has no help"
        if param.param_type_name == "option" and not param.is_flag:
            assert param.show_default, f"igpub {' '.join(path)}: {param.name} hides its default"


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["posts", "--help"]) == 0
    out = capsys.readouterr().out
    assert "default: 20" in out and "How many posts" in out


def test_unknown_option_is_refused_with_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["post", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_missing_file_is_refused_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # refused before any deployment is looked up or any AWS call is made
    monkeypatch.setenv("IGPUB_STACK_FILE", "/nonexistent/stack.json")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: a call would fail loudly
    assert main(["post", "--account", "1", "--file", "/no/such/photo.jpg"]) == 2
    err = capsys.readouterr().err
    assert "/no/such/photo.jpg: no such file" in err
    assert "Traceback" not in err and err.count("no such file") == 1
