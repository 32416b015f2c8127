"""No token, OAuth code or secret in any log line the suite produced: the deployed Lambdas' logs
(the emulator's CloudWatch Logs and its own log file), the fake Instagram's log, and every log
record of this process. Runs last (marker audit_last)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from igpub_cli.deployment import Deployment
from tests.conftest import CAPTURED_LOGS, SECRETS_SEEN

ROOT = Path(__file__).resolve().parents[2]
# Instagram/Facebook tokens, and the fake's authorization codes (AQ + 160 characters)
PATTERNS = [re.compile(r"\b(?:IGAA|EAA)[A-Za-z0-9_\-]{20,}"), re.compile(r"\bAQ[A-Za-z0-9_\-]{100,}")]


def cloudwatch_lines(dep: Deployment) -> list[str]:
    logs = dep.client("logs")
    lines: list[str] = []
    for group in logs.describe_log_groups()["logGroups"]:
        kwargs = {"logGroupName": group["logGroupName"]}
        while True:
            page = logs.filter_log_events(**kwargs)
            lines.extend(e["message"] for e in page["events"])
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    return lines


@pytest.mark.audit_last
def test_no_secret_in_any_log_line(dep: Deployment) -> None:
    sources = {
        "cloudwatch": cloudwatch_lines(dep),
        "process": CAPTURED_LOGS,
        **{p.name: p.read_text(errors="replace").splitlines() for p in (ROOT / ".run").glob("*.log")},
    }
    assert sum(len(v) for v in sources.values()) > 100, "the audit found almost no log lines to check"
    secrets = {s for s in SECRETS_SEEN if len(s) >= 8}
    assert any(s.startswith("IGAA") for s in secrets), "no token was recorded: the audit would be empty"
    leaks = []
    for source, lines in sources.items():
        for line in lines:
            hit = next((p.pattern for p in PATTERNS if p.search(line)), None) or next(
                (s[:8] + "..." for s in secrets if s in line), None
            )
            if hit:  # report where, without repeating the secret
                masked = PATTERNS[1].sub("AQ***", PATTERNS[0].sub("<token>", line))
                for s in secrets:
                    masked = masked.replace(s, "<secret>")
                leaks.append(f"{source}: {hit} in {masked[:160]!r}")
    assert leaks == [], "\n".join(leaks[:20])
