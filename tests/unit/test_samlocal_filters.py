"""local/samlocal.sh explains the known harmless lines of `make invoke` instead of showing them raw (issue 20)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def explain(text: str) -> str:
    script = (ROOT / "local" / "samlocal.sh").read_text()
    start = script.index("explain_harmless() {")
    body = script[start:script.index("\n}\n", start) + 3]
    bash = shutil.which("bash") or "/bin/bash"
    return subprocess.run([bash, "-c", body + "explain_harmless"], input=text, capture_output=True, text=True,
                          check=True, timeout=30).stdout


def test_harmless_lines_become_one_explanation_each_and_the_rest_stays() -> None:
    raw = "\n".join([
        "START RequestId: 1", "[ERROR] 2026-12-06 LAMBDA_RUNTIME Failed to get next invocation: closed",
        "[ERROR] 2026-12-06 LAMBDA_RUNTIME Failed to get next invocation: closed",
        "/var/task/app.py:40: UserWarning: No application metrics to publish. The cold-start metric may be "
        "published if enabled.", "  self.flush_metrics()", "  indented line of a real error stays",
        "[ERROR] KeyError: 'x'", "",
    ])
    out = explain(raw).splitlines()
    assert out[0] == "START RequestId: 1"
    assert sum("Failed to get next invocation" in line for line in out) == 0
    assert sum(line.startswith("[igpub] harmless") for line in out) == 2
    assert "  self.flush_metrics()" not in out
    assert "  indented line of a real error stays" in out and "[ERROR] KeyError: 'x'" in out
