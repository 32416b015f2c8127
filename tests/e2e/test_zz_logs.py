"""No token, OAuth code or secret in any log line the suite produced: the deployed Lambdas' logs
(the emulator's CloudWatch Logs and its own log file), the fake Instagram's log, and every log
record of this process. Runs last (marker audit_last). And the redactor keeps what explains a failure:
a failed post's log line carries Instagram's error code and subcode."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from igpub.accounts import Account
from igpub_cli import api
from igpub_cli.deployment import Deployment
from igpub_cli.local import FakeInstagram
from tests.conftest import CAPTURED_LOGS, SECRETS_SEEN
from tests.e2e.cwlogs import log_events
from tests.local_stack import RUN_DIR

ROOT = Path(__file__).resolve().parents[2]
# Instagram/Facebook tokens, and the fake's authorization codes (AQ + 160 characters)
PATTERNS = [re.compile(r"\b(?:IGAA|EAA)[A-Za-z0-9_\-]{20,}"), re.compile(r"\bAQ[A-Za-z0-9_\-]{100,}")]


def cloudwatch_lines(dep: Deployment, *, since_ms: int = 0) -> list[str]:
    """Every log line of every group (from ``since_ms``), read whole (tests/e2e/cwlogs.py)."""
    logs = dep.client("logs")
    return [e["message"] for group in logs.describe_log_groups()["logGroups"]
            for e in log_events(logs, group["logGroupName"], since_ms=since_ms)]


@pytest.mark.audit_last
def test_no_secret_in_any_log_line(dep: Deployment) -> None:
    sources = {
        "cloudwatch": cloudwatch_lines(dep),
        "process": CAPTURED_LOGS,
        **{p.name: p.read_text(errors="replace").splitlines() for p in RUN_DIR.glob("*.log")},
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


def _logged(line: str) -> dict[str, object]:
    start = line.find("{")
    try:
        data = json.loads(line[start:]) if start >= 0 else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@pytest.mark.audit_last
def test_a_failed_posts_log_line_carries_instagrams_code_and_subcode(
    dep: Deployment, fake: FakeInstagram, account: Account
) -> None:
    """An image Instagram refuses at once (aspect ratio 2.5:1, outside 4:5 to 1.91:1): the fail step's
    ``post failed`` line names the failure code and Instagram's code and subcode, unmasked."""
    started_ms = int(time.time() * 1000) - 5000
    sub = api.submit_post(dep, {"account_id": account.account_id, "kind": "image",
                                "media": [{"url": fake.cdn("image.jpg", w=2000, h=800)}]})
    assert api.watch_post(dep, sub, timeout_s=120).status == "failed"
    lines = [_logged(m) for m in cloudwatch_lines(dep, since_ms=started_ms) if sub.post_id in m and "post failed" in m]
    lines = [d for d in lines if d.get("message") == "post failed"]
    assert lines, f"no 'post failed' log line for {sub.post_id}"
    line = lines[-1]
    error = line.get("instagram_error")
    assert isinstance(error, dict), line
    assert isinstance(error.get("code"), int) and isinstance(error.get("subcode"), int), line
    assert line.get("code") not in (None, "***"), line
