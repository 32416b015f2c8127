"""SAM CLI's local servers for tests/e2e/test_sam_local.py: a Docker engine, the Lambda base image, one
`sam local start-lambda` (every function in a warm container) and one `sam local start-api`.

tests/e2e/conftest.py starts them in the background as soon as the session's first e2e test runs, when
the session holds sam local tests: their containers start while the other e2e tests run, and the sam
local tests wait only for what is not ready yet.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.local_stack import RUN_DIR

ROOT = Path(__file__).resolve().parents[2]
SAMLOCAL = ROOT / "local" / "samlocal.sh"
NO_ENGINE = 3  # local/samlocal.sh's exit status when no container engine can run here


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def docker_env() -> dict[str, str]:
    """The environment for local/samlocal.sh, with a Docker engine that answers (skip loudly if none, fail
    instead under IGPUB_REQUIRE_DOCKER=1), and the Lambda base image in it."""
    env = dict(os.environ)
    out = subprocess.run([str(SAMLOCAL), "env"], capture_output=True, text=True, env=env, timeout=120)
    if out.returncode == NO_ENGINE:
        reason = f"NO CONTAINER ENGINE on this machine, sam local tests not run: {out.stderr.strip()}"
        if os.environ.get("IGPUB_REQUIRE_DOCKER") == "1":
            pytest.fail(reason)
        print(f"\n{'!' * 20} {reason}")
        pytest.skip(reason)
    assert out.returncode == 0, out.stderr
    env["DOCKER_HOST"] = out.stdout.strip().partition("=")[2]
    image = subprocess.run([str(SAMLOCAL), "image"], capture_output=True, text=True, env=env, timeout=600)
    assert image.returncode == 0, image.stderr
    print(f"\nLambda base image: {image.stdout.strip()}")
    return env


class SamLocalServer:
    """`local/samlocal.sh <command> <port>` (start-lambda or start-api) in its own process group: started
    at once, waited for when first used, stopped (the whole group) at the end."""

    def __init__(self, env: dict[str, str], command: str) -> None:
        self.command = command
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log_path = RUN_DIR / f"sam-local-{command}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [str(SAMLOCAL), command, self.base.rsplit(":", 1)[1]], env=env, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._ready = False

    def _failed(self) -> None:
        pytest.fail(f"sam local {self.command} did not start:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def wait_for_log(self, text: str, timeout: float = 300) -> None:
        """Until SAM CLI's log shows ``text`` (local/samlocal.sh logs its start line once Docker, the image
        and the port forwarder are ready)."""
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._failed()
            time.sleep(0.2)

    def ready(self, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        while not self._ready:
            try:
                httpx.get(f"{self.base}/nothing-here", timeout=2)
                self._ready = True
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self._failed()
                time.sleep(0.3)
        return self.base

    def stop(self) -> None:
        """SIGTERM (SIGKILL if it hangs). SAM CLI's own clean-up on Ctrl+C stops the warm containers one
        after the other, 10 s each: ``SamLocal.stop`` removes them at once instead."""
        for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        self._log.close()


@dataclass
class SamLocal:
    """The engine's environment and the two servers (``lambda``, ``api``)."""

    env: dict[str, str] = field(default_factory=dict)
    servers: dict[str, SamLocalServer] = field(default_factory=dict)
    containers_before: set[str] | None = None  # SAM CLI's containers on the engine before ours

    def _sam_containers(self) -> set[str]:
        out = subprocess.run(
            ["docker", "ps", "-aq", "--no-trunc", "--filter", "label=sam.cli.container.type"],  # noqa: S607
            capture_output=True, text=True, env=self.env, timeout=60,
        )
        return set(out.stdout.split()) if out.returncode == 0 else set()

    def start(self) -> SamLocal:
        self.env = docker_env()
        self.containers_before = self._sam_containers()
        self.servers["lambda"] = SamLocalServer(self.env, "lambda")
        # the API once the first has set up what both use (the engine, the image, the port forwarder)
        self.servers["lambda"].wait_for_log("sam local start-lambda on")
        self.servers["api"] = SamLocalServer(self.env, "api")
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.containers_before is not None:  # the warm containers our servers made, all at once
            ours = sorted(self._sam_containers() - self.containers_before)
            if ours:
                subprocess.run(["docker", "rm", "-f", *ours], capture_output=True, env=self.env, timeout=120)  # noqa: S607


class Background:
    """``SamLocal.start`` in a thread; ``result()`` re-raises its skip or failure in the test that waits."""

    def __init__(self) -> None:
        self.sam = SamLocal()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sam-local")
        self.future: Future[SamLocal] = self._pool.submit(self.sam.start)

    def result(self) -> SamLocal:
        return self.future.result()

    def stop(self) -> None:
        self.future.cancel()
        try:
            self.future.exception()  # wait for the start to end before stopping what it started
        finally:
            self.sam.stop()
            self._pool.shutdown()
