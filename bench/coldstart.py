"""Cold start of each built function, as a ratio to a floor measured in the same run.

A cold start here is a fresh interpreter (``python -S``, so nothing but what is on PYTHONPATH) that
imports the handler module and does its cold-start work (``app._deps()``: settings, repositories,
clients); the floor is a fresh interpreter that imports boto3 and creates one DynamoDB client. The
path holds only what Lambda would give the function: its folder from ``.aws-sam/build``, the layer's
``python/`` folder and boto3 (the runtime's, pinned like the emulator's). PYTHONDONTWRITEBYTECODE is
set because Lambda's code folders are read-only: whatever bytecode the artifact does not ship is
compiled again at every cold start. Runs are interleaved (floor, each function, floor, ...) and the
median wall time of each is reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"
RUNTIME_DEPS = ROOT / ".run" / "lambda-runtime-deps"
RUNTIME_BOTO3 = "boto3==1.43.106"  # local/stack.sh EMU_BOTO3

FLOOR_CODE = "import boto3; boto3.client('dynamodb')"
FUNCTION_CODE = "import app; app._deps()"

# what the template's environment gives every function (values only need to be well-formed)
ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "POWERTOOLS_SERVICE_NAME": "igpub",
    "POWERTOOLS_METRICS_NAMESPACE": "igpub",
    "IGPUB_ACCOUNTS_TABLE": "accounts",
    "IGPUB_POSTS_TABLE": "posts",
    "IGPUB_USAGE_TABLE": "usage",
    "IGPUB_STATES_TABLE": "states",
    "IGPUB_IDEMPOTENCY_TABLE": "idempotency",
    "IGPUB_KMS_KEY_ID": "key",
    "IGPUB_MEDIA_BUCKET": "bucket",
    "IGPUB_APP_SECRET_NAME": "secret",
    "IGPUB_INSTAGRAM_APP_ID": "app",
}


def runtime_deps() -> Path:
    marker = RUNTIME_DEPS / ".done"
    if not marker.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
             str(RUNTIME_DEPS), RUNTIME_BOTO3],
            check=True,
        )
        marker.touch()
    return RUNTIME_DEPS


def functions() -> list[str]:
    return sorted(p.name for p in BUILD.glob("*Function")) if BUILD.exists() else []


def _once(code: str, path: list[Path]) -> float:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(map(str, path)),
           "PYTHONDONTWRITEBYTECODE": "1", **ENV}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, cwd="/")
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"cold start run failed ({code!r}):\n{proc.stderr[-2000:]}")
    return elapsed


def measure(runs: int = 7) -> dict[str, Any]:
    """{"floor_ms": ..., "functions": {name: {"median_ms", "cold_start_ratio"}}, "runs": n}"""
    deps = runtime_deps()
    layer = BUILD / "IgpubLayer" / "python"
    names = functions()
    if not names:
        raise RuntimeError("nothing built in .aws-sam/build: run `make up` (or `make deploy`) first")
    samples: dict[str, list[float]] = {"floor": [], **{n: [] for n in names}}
    for _ in range(runs):
        samples["floor"].append(_once(FLOOR_CODE, [deps]))
        for name in names:
            samples[name].append(_once(FUNCTION_CODE, [BUILD / name, layer, deps]))
    floor = statistics.median(samples["floor"])
    return {
        "runs": runs,
        "floor": "a fresh interpreter: import boto3; boto3.client('dynamodb')",
        "floor_ms": round(floor * 1000),
        "functions": {
            name: {
                "median_ms": round(statistics.median(samples[name]) * 1000),
                "cold_start_ratio": round(statistics.median(samples[name]) / floor, 2),
            }
            for name in names
        },
    }


def importtime(function: str, top: int = 12) -> list[tuple[str, float]]:
    """The modules (by top-level package) that the function imports beyond the floor, slowest first."""
    deps = runtime_deps()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **ENV}

    def run(code: str, path: list[Path]) -> dict[str, int]:
        proc = subprocess.run([sys.executable, "-S", "-X", "importtime", "-c", code], cwd="/",
                              env={**env, "PYTHONPATH": os.pathsep.join(map(str, path))},
                              capture_output=True, text=True, check=True)
        out: dict[str, int] = {}
        for line in proc.stderr.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                self_us, _cum, name = line.split(":", 1)[1].split("|")
                out[name.strip()] = int(self_us)
        return out

    floor = run(FLOOR_CODE, [deps])
    fn = run(FUNCTION_CODE, [BUILD / function, BUILD / "IgpubLayer" / "python", deps])
    groups: dict[str, int] = {}
    for name, us in fn.items():
        if name not in floor:
            groups[name.split(".")[0]] = groups.get(name.split(".")[0], 0) + us
    return [(k, round(v / 1000, 1)) for k, v in sorted(groups.items(), key=lambda kv: -kv[1])[:top]]


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
    for fn_name in functions():
        print(fn_name, importtime(fn_name))
