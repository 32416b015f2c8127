"""What every `igpub` command shares: the consoles, tables with headers, JSON output, the deployment
from the global options, and the one place where an error becomes a message and an exit code.

Exit codes: 0 done, 1 the work failed (a post failed, a refresh had problems), 2 refused input (nothing
was started), 3 no deployment found.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from igpub_cli.deployment import Deployment

PIPE_WIDTH = 200


def _console(*, stderr: bool = False) -> Console:
    """A console that does not fold table cells at 80 columns when the output is piped or captured
    (there is no terminal width to respect then; COLUMNS still wins when set)."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


out = _console()
err = _console(stderr=True)

OK, FAILED, REFUSED, NO_DEPLOYMENT, NOT_PERMITTED = 0, 1, 2, 3, 4

_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                           "AuthorizationError", "UnauthorizedException"})


def permission_denied(exc: Exception) -> str | None:
    """The message for an AWS call refused for want of a permission (it names the action and resource),
    or None when ``exc`` is another error."""
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    if error.get("Code") not in _DENIED_CODES:
        return None
    operation = getattr(exc, "operation_name", "") or "the call"
    detail = str(error.get("Message") or "").strip() or f"{operation} was refused"
    return (f"not permitted: {detail}. Your AWS identity lacks this permission: ask an administrator to attach "
            "igpub's policy for your role (stack outputs PosterPolicyArn, AdminPolicyArn or ViewerPolicyArn; "
            "README, People and permissions).")


class CliError(Exception):
    """A failure the CLI reports as one message (``igpub: ...``) and exit code ``code``."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class Globals:
    """The options given before the subcommand (``igpub --stack NAME ...``)."""

    stack: str | None = None
    region: str | None = None
    _dep: Deployment | None = None

    def dep(self) -> Deployment:
        if self._dep is None:
            self._dep = Deployment.load(stack=self.stack, region=self.region)
        return self._dep


def dep(ctx: typer.Context) -> Deployment:
    """The deployment the command works on (the local stack, or --stack on AWS)."""
    glob = ctx.find_root().obj
    if not isinstance(glob, Globals):
        glob = Globals()
        ctx.find_root().obj = glob
    return glob.dep()


def line(text: str, *, stderr: bool = False) -> None:
    """One plain line: no markup, no wrapping of long URLs."""
    (err if stderr else out).print(text, markup=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """JSON on stdout, nested objects as objects; plain (no colour codes), so it pipes into jq."""
    print(json.dumps(data, indent=2, default=str))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, stderr: bool = False) -> Table:
    """Print a table with a header row; a column named with a leading '>' is right-aligned."""
    t = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        if name.startswith(">"):
            t.add_column(name[1:], justify="right")
        else:
            t.add_column(name, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    (err if stderr else out).print(t)
    return t


def refuse(message: str) -> NoReturn:
    """Stop with exit code 2: the input was refused before anything started."""
    raise CliError(message, REFUSED)


def fail(message: str) -> NoReturn:
    raise CliError(message, FAILED)
