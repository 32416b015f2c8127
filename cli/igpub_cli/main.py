"""The `igpub` command line (Typer + Rich). Works against the local stack (`make up`) and a stack on AWS
(--stack). `igpub --help` lists the commands; `igpub COMMAND --help` describes each option.

Adding a command: write a function in a module under igpub_cli/commands (its docstring is the description,
each option's ``help=`` its help line; the logic belongs in igpub_cli.api), then register it below with
``app.command()(module.function)`` or, for a group, ``app.add_typer(module.app, name=...)``. Raise
``ui.CliError`` (or ``RequestInvalid`` for refused input) and main() prints it once with its exit code.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from botocore.exceptions import ClientError, EndpointConnectionError

from igpub.hashtags import InvalidInput
from igpub.publishing.errors import RequestInvalid
from igpub_cli import hashtags, ui
from igpub_cli.commands import accounts, alarms, connect, disconnect, engagement, posts, schedule
from igpub_cli.deployment import DeploymentNotFound

app = typer.Typer(
    name="igpub",
    help="Self-hosted Instagram publishing: connect accounts, publish and schedule posts, manage hashtags.\n\n"
    "Exit codes: 0 done, 1 failed, 2 refused input (nothing was started, uploaded or sent), 3 no deployment "
    "found, 4 not permitted (your AWS identity lacks a permission).\n\nTimes: ISO 8601 with a time zone, or "
    "relative to now (+2h, -7d, now).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _globals(
    ctx: typer.Context,
    stack: Annotated[
        str | None,
        typer.Option(help="CloudFormation stack name on AWS. Default: the local stack when one is found "
                     "(IGPUB_STACK_FILE, .run/stack.json here or above, the state file of `make up` for "
                     "IGPUB_EMU_PORT), else IGPUB_STACK or 'igpub'."),
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="AWS region of --stack. Default: AWS_REGION or AWS_DEFAULT_REGION.")
    ] = None,
) -> None:
    ctx.obj = ui.Globals(stack=stack, region=region)


app.command("connect")(connect.connect)
app.command("accounts")(accounts.accounts)
app.command("disconnect")(disconnect.disconnect)
app.command("refresh")(accounts.refresh)
app.command("post")(posts.post)
app.command("posts")(posts.posts)
app.command("cancel")(schedule.cancel)
app.command("reschedule")(schedule.reschedule)
app.add_typer(hashtags.app, name="hashtags")
app.command("insights")(engagement.insights)
app.add_typer(engagement.app, name="comments")
app.command("alarms")(alarms.alarms)


def _refused(problems: list[str], what: str) -> None:
    if len(problems) == 1:
        ui.err.print(f"igpub: {what}: {problems[0]}", markup=False, soft_wrap=True)
        return
    ui.err.print(f"igpub: {what}:", markup=False)
    for problem in problems:
        ui.err.print(f"  - {problem}", markup=False, soft_wrap=True)


def _command(argv: list[str]) -> str | None:
    """The subcommand's name in ``argv`` (after the global options)."""
    words = iter(argv)
    for word in words:
        if word in ("--stack", "--region"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _unexpected(exc: Exception) -> int:
    """An error no command expected: one line and exit code 1 (IGPUB_DEBUG=1 raises it, with its traceback)."""
    if os.environ.get("IGPUB_DEBUG"):
        raise exc
    ui.err.print(f"igpub: failed: {type(exc).__name__}: {exc} (IGPUB_DEBUG=1 shows the traceback)",
                 markup=False, soft_wrap=True)
    return ui.FAILED


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (each failure is printed once, on stderr)."""
    try:
        app(args=argv, prog_name="igpub")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else ui.FAILED)
    except RequestInvalid as exc:
        post = _command(sys.argv[1:] if argv is None else argv) == "post"
        _refused(exc.problems,
                 "refused (not submitted: nothing was uploaded, started or recorded)" if post else "refused")
        return ui.REFUSED
    except InvalidInput as exc:
        _refused([str(exc)], "refused")
        return ui.REFUSED
    except ui.CliError as exc:
        ui.err.print(f"igpub: {exc.message}", markup=False, soft_wrap=True)
        return exc.code
    except DeploymentNotFound as exc:
        ui.err.print(f"igpub: {exc}", markup=False, soft_wrap=True)
        return ui.NO_DEPLOYMENT
    except ClientError as exc:
        denied = ui.permission_denied(exc)
        if denied is None:
            return _unexpected(exc)
        ui.err.print(f"igpub: {denied}", markup=False, soft_wrap=True)
        return ui.NOT_PERMITTED
    except EndpointConnectionError as exc:  # the deployment's endpoint does not answer (a stopped local stack)
        ui.err.print(f"igpub: the deployment does not answer ({exc}); is the local stack up (make up)?",
                     markup=False, soft_wrap=True)
        return ui.NO_DEPLOYMENT
    except Exception as exc:  # noqa: BLE001 - the one place an unexpected error becomes a message and exit 1
        return _unexpected(exc)
    return ui.OK


if __name__ == "__main__":
    sys.exit(main())
