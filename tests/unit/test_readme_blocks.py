"""The README's command blocks follow the convention of tests/readme_blocks.py (issue 20): every block with an
`igpub` or `make` command is marked `run` (executed by tests/e2e/test_readme_e2e.py) or `check` (parsed here);
every command of both kinds parses; the sample-events table lists exactly the files of events/."""

from __future__ import annotations

import re

import pytest

from tests.readme_blocks import README, ROOT, blocks, parse_problem

SH = [b for b in blocks() if b.lang in ("sh", "bash", "shell")]
MARKED = [(b, c) for b in SH if b.mode for c in b.commands]


def test_every_block_with_a_command_says_run_or_check() -> None:
    unmarked = [f"README.md:{b.line} ({b.section}): {b.commands[0].text[:60]}" for b in SH
                if b.needs_mark and b.mode is None]
    assert not unmarked, ("mark these blocks ```sh run (executed against the local stack) or ```sh check "
                          "(production-only: parsed, not run); see the README's 'The README is executed':\n"
                          + "\n".join(unmarked))


def test_the_readme_has_blocks_of_both_kinds() -> None:
    assert {b.mode for b in SH} >= {"run", "check"}
    assert sum(len(b.commands) for b in SH if b.mode == "run") >= 30


@pytest.mark.parametrize(("block", "command"), MARKED, ids=[f"L{c.line}" for _, c in MARKED])
def test_each_command_parses(block: object, command: object) -> None:
    from tests.readme_blocks import Command

    assert isinstance(command, Command)
    problem = parse_problem(command.text)
    assert problem is None, f"README.md:{command.line}: {command.text}\n{problem}"


def test_parse_problem_finds_what_is_wrong() -> None:
    assert parse_problem("igpub post --colour red") is not None
    assert parse_problem("igpub post --kind painting") is not None
    assert parse_problem("igpub comments reply") is not None  # arguments missing
    assert parse_problem("igpub nosuchcommand") is not None
    assert parse_problem("make no-such-target") is not None
    assert parse_problem("echo 'unclosed") is not None
    assert parse_problem("igpub --stack igpub post --url 'https://example.com/a.jpg' --publish-at +2h") is None
    assert parse_problem("AWS_ENDPOINT_URL=http://x IGPUB_STACK=igpub make lint") is None


def test_the_convention_reads_marks_continuations_and_exit_codes() -> None:
    text = "\n".join([
        "## S", "```sh run", "igpub accounts   # a comment with # inside, (exit 3 without)",
        "igpub post --url 'a#b' \\",
        "   --caption x   # exit 2", "            # only a comment", "```", "```sh", "igpub posts", "```",
    ])
    run, plain = blocks(text)
    assert run.mode == "run" and run.section == "S" and run.line == 2
    assert [(c.text, c.exit_code) for c in run.commands] == [
        ("igpub accounts", 0), ("igpub post --url 'a#b' --caption x", 2)]
    assert plain.mode is None and plain.needs_mark


def test_the_sample_events_table_lists_every_file_of_events() -> None:
    text = README.read_text()
    section = text[text.index("### The sample events"):]
    section = section[:section.index("\n#", 1)] if "\n#" in section[1:] else section
    listed = re.findall(r"^\| `([\w.-]+\.json)` \|", section, flags=re.M)
    assert len(listed) == len(set(listed)), "a file is listed twice"
    assert sorted(listed) == sorted(p.name for p in (ROOT / "events").glob("*.json"))
