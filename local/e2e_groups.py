"""Run the stack tests (tests/integration and tests/e2e) in groups at once, each group on a local stack of its
own: its own ministack, fake Instagram and igpub deployed into them.

Why: those tests mostly wait (for Step Functions, the fake's processing, the emulator's Lambdas), and every one
of them resets the one fake Instagram and stops the state machine's running executions, so two of them cannot
share a stack. Two stacks on the 2-core machine take the suite's time from the sum of the groups to the
longest one.

    python local/e2e_groups.py [--groups N] [pytest args...]      (make test: E2E_GROUPS, default 2)

- Group 1 runs on the default stack (IGPUB_EMU_PORT, 4566; IGPUB_FAKE_PORT, 4580; the folder .run), and holds
  the sam local tests (test_sam_local.py: Docker and SAM CLI's servers, under .run). Group k > 1 runs on the
  ports + k - 1 and the folder .run/group-k, deployed from the same `sam build` (IGPUB_SKIP_BUILD=1).
- The test files are shared out longest first (by the seconds in tests/e2e/durations.json, measured; a file
  not in it counts DEFAULT_S) to the group with the least so far. The audits that end a session
  (test_zz_*.py: the log audit and the least-privilege check) run in every group, over that group's stack.
- Each group's output goes to <its folder>/e2e-tests.log and, line by line, to this terminal with a
  [g<k>] prefix; at the end a table says how long each group took. The exit status is pytest's worst.
- A stack this script started is stopped at the end (IGPUB_KEEP_STACK=1 keeps them), with the dockerd the sam
  local tests started for it, as local/with-stack.sh does; a stack that was already up is left up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DURATIONS = ROOT / "tests" / "e2e" / "durations.json"
DEFAULT_S = 20.0  # a test file the durations do not know yet
PINNED_TO_FIRST = ("tests/e2e/test_sam_local.py",)  # Docker and SAM CLI's servers live under .run
EVERY_GROUP_PREFIX = "tests/e2e/test_zz_"  # the audits of a session's stack and logs


@dataclass
class Group:
    number: int
    emu_port: int
    fake_port: int
    run_dir: Path
    files: list[str] = field(default_factory=list)
    weight: float = 0.0
    was_up: bool = False
    had_docker: bool = False
    proc: subprocess.Popen[str] | None = None
    started_at: float = 0.0
    ended_at: float = 0.0

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env |= {"IGPUB_EMU_PORT": str(self.emu_port), "IGPUB_FAKE_PORT": str(self.fake_port),
                "IGPUB_RUN_DIR": str(self.run_dir), "IGPUB_STACK_FILE": str(self.run_dir / "stack.json"),
                "PYTHONUNBUFFERED": "1"}
        if self.number > 1:
            env["IGPUB_SKIP_BUILD"] = "1"  # group 1's `sam build` made .aws-sam/build
        return env


def test_files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for folder in ("tests/integration", "tests/e2e")
                  for p in (ROOT / folder).glob("test_*.py"))


def share_out(files: list[str], groups: list[Group], seconds: dict[str, float]) -> None:
    """Longest first, each file to the group with the least seconds so far (the pinned ones first)."""
    for f in files:
        if f in PINNED_TO_FIRST:
            groups[0].files.append(f)
            groups[0].weight += seconds.get(f, DEFAULT_S)
    rest = [f for f in files if f not in PINNED_TO_FIRST and not f.startswith(EVERY_GROUP_PREFIX)]
    for f in sorted(rest, key=lambda f: (-seconds.get(f, DEFAULT_S), f)):
        g = min(groups, key=lambda g: (g.weight, g.number))
        g.files.append(f)
        g.weight += seconds.get(f, DEFAULT_S)
    for g in groups:
        g.files += [f for f in files if f.startswith(EVERY_GROUP_PREFIX)]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_ministack/health", timeout=2):
            return True
    except OSError:
        return False


def stack(group: Group, command: str) -> int:
    return subprocess.call([str(ROOT / "local" / "stack.sh"), command], env=group.env(), cwd=ROOT)  # noqa: S603


def pump(group: Group, log_path: Path) -> None:
    assert group.proc is not None and group.proc.stdout is not None
    with log_path.open("w") as log:
        for line in group.proc.stdout:
            log.write(line)
            log.flush()
            sys.stdout.write(f"[g{group.number}] {line}")
            sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=int(os.environ.get("E2E_GROUPS") or 2))
    args, pytest_args = parser.parse_known_args(argv)
    base_emu = int(os.environ.get("IGPUB_EMU_PORT") or 4566)
    base_fake = int(os.environ.get("IGPUB_FAKE_PORT") or 4580)
    groups = [Group(k, base_emu + k - 1, base_fake + k - 1,
                    Path(os.environ.get("IGPUB_RUN_DIR") or ROOT / ".run") if k == 1 else ROOT / ".run" / f"group-{k}")
              for k in range(1, max(1, args.groups) + 1)]
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    share_out(test_files(), groups, seconds)
    for g in groups:
        g.run_dir.mkdir(parents=True, exist_ok=True)
        g.was_up = healthy(g.emu_port)
        g.had_docker = (g.run_dir / "docker" / "dockerd.pid").exists()
        print(f"[e2e] group {g.number}: {len(g.files)} files, ~{g.weight:.0f} s measured, on ports "
              f"{g.emu_port}/{g.fake_port} ({g.run_dir.relative_to(ROOT)})", flush=True)
    pumps: list[threading.Thread] = []
    status = 0
    try:
        for g in groups:  # one after the other: group 1 builds, the others deploy that build
            if stack(g, "up") != 0:
                print(f"[e2e] group {g.number}: the local stack did not come up", flush=True)
                status = 1
                break
            g.started_at = time.monotonic()
            g.proc = subprocess.Popen(  # noqa: S603 - our own venv's pytest
                [str(ROOT / ".venv" / "bin" / "pytest"), *g.files, "-q", "-rs", "-p", "no:cacheprovider",
                 *pytest_args], cwd=ROOT, env=g.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            t = threading.Thread(target=pump, args=(g, g.run_dir / "e2e-tests.log"), daemon=True)
            t.start()
            pumps.append(t)
        for g in groups:
            if g.proc is not None:
                rc = g.proc.wait()
                g.ended_at = time.monotonic()
                status = max(status, rc)
        for t in pumps:
            t.join(timeout=10)
    finally:
        for g in groups:
            if g.proc is not None and g.proc.poll() is None:
                g.proc.terminate()
        if not os.environ.get("IGPUB_KEEP_STACK"):
            for g in reversed(groups):
                if not g.was_up:
                    stack(g, "down")
                    if not g.had_docker and (g.run_dir / "docker" / "dockerd.pid").exists():
                        subprocess.call([str(ROOT / "local" / "samlocal.sh"), "docker-down"], env=g.env(), cwd=ROOT)  # noqa: S603
    for g in groups:
        if g.proc is not None:
            print(f"[e2e] group {g.number}: exit {g.proc.returncode} after {g.ended_at - g.started_at:.0f} s "
                  f"({len(g.files)} files; log {g.run_dir.relative_to(ROOT)}/e2e-tests.log)", flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
