"""Each built function imports in a clean interpreter that sees only what Lambda would give it:
the function folder, the layer's python/ folder, and boto3 (the runtime's). The emulator runs
functions on its own interpreter, which has pydantic & co installed, so a dependency missing from
the layer would go unnoticed there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"
RUNTIME_ONLY = ROOT / ".run" / "lambda-runtime-deps"


@pytest.fixture(scope="module")
def runtime_deps() -> Path:
    """boto3 alone, as the python3.13 Lambda runtime provides it."""
    marker = RUNTIME_ONLY / ".done"
    if not marker.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
             str(RUNTIME_ONLY), "boto3==1.43.106"],
            check=True,
        )
        marker.touch()
    return RUNTIME_ONLY


FUNCTIONS = sorted(p.name for p in BUILD.glob("*Function")) if BUILD.exists() else []


def test_every_function_was_built() -> None:
    assert {"OAuthFunction", "PublisherFunction"} <= set(FUNCTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_handler_imports_with_only_the_function_and_layer(function: str, runtime_deps: Path) -> None:
    layer = BUILD / "IgpubLayer" / "python"
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join([str(BUILD / function), str(layer),
                                                                     str(runtime_deps)])}
    code = "import app; assert callable(app.lambda_handler)"
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, cwd="/"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the function's own folder carries no copy of the library: it comes from the layer
    assert not (BUILD / function / "igpub").exists()


def test_layer_has_no_dev_dependencies() -> None:
    names = {p.name.split("-")[0].lower() for p in (BUILD / "IgpubLayer" / "python").iterdir()}
    for dev_only in ("pytest", "pillow", "starlette", "uvicorn", "boto3", "botocore", "fakeig", "igpub_cli"):
        assert dev_only not in names
