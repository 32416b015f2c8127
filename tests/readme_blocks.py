"""The README's command blocks, as the README-executing tests read them (tests/e2e/test_readme_e2e.py,
tests/unit/test_readme_blocks.py).

The convention (README, "The README is executed"): a fenced block whose info string is ``sh run`` is executed
against the local stack, command by command, from a scratch folder; ``sh check`` is only parsed (each `igpub`
command by the CLI's own parser, `make X` by `make -n`, anything else by `bash -n`): production-only examples.
A ``sh`` block that holds an `igpub` or `make` command must say one of the two. A trailing ``# exit N`` comment
on a command says the exit code it must end with (default 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MODES = ("run", "check")
_FENCE = re.compile(r"^```(\S*)(.*)$")
_EXIT = re.compile(r"#\s*exit (\d+)\b")


@dataclass(frozen=True)
class Command:
    line: int  # in README.md
    text: str  # the command, continuation lines joined, comments removed
    exit_code: int


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    mode: str | None  # run, check, or None (unmarked)
    section: str
    commands: tuple[Command, ...]

    @property
    def needs_mark(self) -> bool:
        return self.lang in ("sh", "bash", "shell") and any(
            re.match(r"^(\S*/)?(igpub|make)\b", c.text) or re.search(r"\b(igpub|make) ", c.text.split("=", 1)[-1])
            for c in self.commands)


def _strip_comment(line: str) -> str:
    """The line without its shell comment (a # outside quotes that starts a word)."""
    idx = _comment_start(line)
    return line[:idx].rstrip() if idx is not None else line.rstrip()


def _comment_start(line: str) -> int | None:
    quote: str | None = None
    prev = " "
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and prev in " \t":
            return i
        prev = ch
    return None


def _commands(lines: list[tuple[int, str]]) -> tuple[Command, ...]:
    out: list[Command] = []
    pending: list[str] = []
    start = 0
    code = 0
    for number, raw in lines:
        m = _EXIT.search(raw[_comment_start(raw) or len(raw):])
        if not pending:
            start, code = number, 0
        if m:
            code = int(m.group(1))
        text = _strip_comment(raw)
        if text.endswith("\\"):
            pending.append(text[:-1].strip())
            continue
        pending.append(text.strip())
        joined = " ".join(p for p in pending if p)
        pending = []
        if joined:
            out.append(Command(start, joined, code))
    return tuple(out)


def blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of the README, with its section heading and its commands."""
    lines = (README.read_text() if text is None else text).splitlines()
    found: list[Block] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and not line.startswith("#!"):
            section = line.lstrip("#").strip()
        m = _FENCE.match(line)
        if m:
            fence_line = i + 1
            lang, words = m.group(1), m.group(2).split()
            mode = next((w for w in words if w in MODES), None)
            body: list[tuple[int, str]] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append((i + 1, lines[i]))
                i += 1
            found.append(Block(line=fence_line, lang=lang, mode=mode, section=section,
                               commands=_commands(body) if lang in ("sh", "bash", "shell") else ()))
        i += 1
    return found


_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")


def parse_problem(text: str) -> str | None:
    """Why ``text`` would not parse, checked without running it: an `igpub` command by the CLI's own parser
    (unknown commands, options, choices, missing arguments), `make X` by `make -n` (the target exists), anything
    else by `bash -n`; None when it parses."""
    import shlex
    import shutil
    import subprocess

    import typer

    from igpub_cli.main import app

    try:
        words = shlex.split(text)
    except ValueError as exc:
        return f"shell quoting: {exc}"
    while words and _ASSIGN.match(words[0]):  # VAR=value prefixes
        words.pop(0)
    if words and words[0].endswith("igpub"):
        cmd: Any = typer.main.get_command(app)
        try:
            ctx = cmd.make_context("igpub", list(words[1:]))
            while hasattr(cmd, "resolve_command"):  # a group: its subcommand parses the rest
                rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
                if not rest:
                    return None
                name, sub, rest = cmd.resolve_command(ctx, rest)
                if sub is None or name is None:
                    return f"no command {rest[0]!r}"
                cmd, ctx = sub, sub.make_context(name, list(rest), parent=ctx)
        except Exception as exc:  # typer's click or click's: Exit (--help) or a usage error
            if type(exc).__name__ == "Exit":
                return None
            if hasattr(exc, "format_message"):
                return str(exc.format_message())
            raise
        return None
    if words and words[0] == "make":
        make = shutil.which("make") or "/usr/bin/make"
        done = subprocess.run([make, "-n", "-C", str(ROOT), *words[1:]], capture_output=True, text=True,
                              timeout=60, check=False)
        return None if done.returncode == 0 else f"make -n: {done.stderr.strip()[-300:]}"
    bash = shutil.which("bash") or "/bin/bash"
    done = subprocess.run([bash, "-n", "-c", text], capture_output=True, text=True, timeout=30, check=False)
    return None if done.returncode == 0 else f"bash -n: {done.stderr.strip()}"
