"""Run the stack tests (tests/integration and tests/e2e) in groups at once, each group on a local stack of its
own: its own ministack, fake Instagram and igpub deployed into them.

Why: those tests mostly wait (for Step Functions, the fake's processing, the emulator's Lambdas), and every one
of them resets the one fake Instagram and stops the state machine's running executions, so two of them cannot
share a stack. Stacks side by side take the suite's time from the sum of the groups towards the
longest one.

    python local/e2e_groups.py [--groups N] [--update-durations] [pytest args...]
                                                      (make test: E2E_GROUPS, default 3)

- Group 1 runs on the default stack (IGPUB_EMU_PORT, 4566; IGPUB_FAKE_PORT, 4580; the folder .run), and holds
  the sam local tests (test_sam_local.py: Docker and SAM CLI's servers, under .run). Group k > 1 runs on the
  ports + k - 1 and the folder .run/group-k, deployed from the same `sam build` (IGPUB_SKIP_BUILD=1).
- The test files are shared out longest first (by the seconds in tests/e2e/durations.json, measured; a file
  not in it counts DEFAULT_S) to the group with the least so far. The log audit that ends a session
  (test_zz_logs.py) runs in every group, over that group's stack and logs; the least-privilege audit
  (test_zz_least_privilege.py) runs once all groups ended, over the calls of every group's stack.
- --update-durations writes the seconds each file took in this run (from each group's JUnit report,
  <its folder>/e2e-junit.xml) to tests/e2e/durations.json, for the next runs to share out by.
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
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DURATIONS = ROOT / "tests" / "e2e" / "durations.json"
DEFAULT_S = 20.0  # a test file the durations do not know yet
PINNED_TO_FIRST = ("tests/e2e/test_sam_local.py",)  # Docker and SAM CLI's servers live under .run
EVERY_GROUP = ("tests/e2e/test_zz_logs.py",)  # the audit of a session's logs and its stack's
AFTER_ALL = ("tests/e2e/test_zz_least_privilege.py",)  # over every group's stack, once they all ended
SELECTING = ("-k", "-m", "--lf", "--last-failed", "--deselect")  # pytest options that run part of the suite


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
    rest = [f for f in files if f not in (*PINNED_TO_FIRST, *EVERY_GROUP, *AFTER_ALL)]
    for f in sorted(rest, key=lambda f: (-seconds.get(f, DEFAULT_S), f)):
        g = min(groups, key=lambda g: (g.weight, g.number))
        g.files.append(f)
        g.weight += seconds.get(f, DEFAULT_S)
    # the pinned files last in group 1: SAM CLI's servers start in the background at its first e2e test
    # (tests/e2e/conftest.py) and are warm by the time their tests come
    pinned = [f for f in groups[0].files if f in PINNED_TO_FIRST]
    groups[0].files = [f for f in groups[0].files if f not in PINNED_TO_FIRST] + pinned
    for g in groups:
        g.files += [f for f in files if f in EVERY_GROUP]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_ministack/health", timeout=2):
            return True
    except OSError:
        return False


def stack(group: Group, command: str, *, quiet: bool = False) -> int:
    """local/stack.sh for the group's stack; quiet: its output to <folder>/stack-<command>.log, shown on failure."""
    argv = [str(ROOT / "local" / "stack.sh"), command]
    if not quiet:
        return subprocess.call(argv, env=group.env(), cwd=ROOT)  # noqa: S603
    log = group.run_dir / f"stack-{command}.log"
    with log.open("w") as out:
        rc = subprocess.call(argv, env=group.env(), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    if rc != 0:
        sys.stdout.write(log.read_text(errors="replace")[-4000:])
    return rc


def start(g: Group, pytest_args: list[str], pumps: list[threading.Thread]) -> bool:
    """Bring the group's stack up (deploying the current code) and start its pytest; False if the stack failed."""
    began = time.monotonic()
    if stack(g, "up", quiet=g.number > 1) != 0:
        print(f"[e2e] group {g.number}: the local stack did not come up", flush=True)
        return False
    print(f"[e2e] group {g.number}: stack up in {time.monotonic() - began:.0f} s, tests started", flush=True)
    g.started_at = time.monotonic()
    g.proc = subprocess.Popen(  # noqa: S603 - our own venv's pytest
        [str(ROOT / ".venv" / "bin" / "pytest"), *g.files, "-q", "-rs", "-p", "no:cacheprovider",
         f"--junitxml={g.run_dir / 'e2e-junit.xml'}", *pytest_args],
        cwd=ROOT, env=g.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t = threading.Thread(target=pump, args=(g, g.run_dir / "e2e-tests.log"), daemon=True)
    t.start()
    pumps.append(t)
    return True


def pump(group: Group, log_path: Path) -> None:
    assert group.proc is not None and group.proc.stdout is not None
    with log_path.open("w") as log:
        for line in group.proc.stdout:
            log.write(line)
            log.flush()
            sys.stdout.write(f"[g{group.number}] {line}")
            sys.stdout.flush()


def file_seconds(junit: Path) -> dict[str, float]:
    """Seconds per test file in a pytest JUnit report (setup, call and teardown of each of its tests)."""
    out: dict[str, float] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - written by our pytest just now
        module = case.get("classname", "").split(".")
        for i in range(len(module), 0, -1):  # test_x.TestClass -> tests/e2e/test_x.py
            candidate = "/".join(module[:i]) + ".py"
            if (ROOT / candidate).exists():
                out[candidate] = out.get(candidate, 0.0) + float(case.get("time") or 0)
                break
    return {f: round(t, 1) for f, t in out.items()}


def audit_after_all(groups: list[Group], pytest_args: list[str]) -> int:
    """The least-privilege audit over the calls every group's stack saw (tests/e2e/test_zz_least_privilege.py)."""
    env = groups[0].env() | {"IGPUB_AUDIT_STACK_FILES": os.pathsep.join(str(g.run_dir / "stack.json") for g in groups)}
    if not any(a in SELECTING or a.startswith(("-k", "-m", "tests/")) for a in pytest_args):
        env["IGPUB_WHOLE_E2E_RAN"] = "1"  # every e2e file ran, in one group or another
    print(f"[e2e] the least-privilege audit over the {len(groups)} stacks", flush=True)
    return subprocess.call(  # noqa: S603 - our own venv's pytest
        [str(ROOT / ".venv" / "bin" / "pytest"), *AFTER_ALL, "-q", "-rs", "-p", "no:cacheprovider"], cwd=ROOT, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=int(os.environ.get("E2E_GROUPS") or 3))
    parser.add_argument("--update-durations", action="store_true", help="write tests/e2e/durations.json")
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
    began = time.monotonic()
    try:
        # group 1 builds and deploys; the others, at once, deploy that build
        if start(groups[0], pytest_args, pumps):
            others = [threading.Thread(target=start, args=(g, pytest_args, pumps)) for g in groups[1:]]
            for t in others:
                t.start()
            for t in others:
                t.join()
        if not all(g.proc is not None for g in groups):
            status = 1
        for g in groups:
            if g.proc is not None:
                rc = g.proc.wait()
                g.ended_at = time.monotonic()
                status = max(status, rc)
        for t in pumps:
            t.join(timeout=10)
        if all(g.proc is not None for g in groups):  # every stack came up
            status = max(status, audit_after_all(groups, pytest_args))
    finally:
        for g in groups:
            if g.proc is not None and g.proc.poll() is None:
                g.proc.terminate()
        if not os.environ.get("IGPUB_KEEP_STACK"):
            for g in reversed(groups):
                if not g.was_up:
                    stack(g, "down", quiet=g.number > 1)
                    if not g.had_docker and (g.run_dir / "docker" / "dockerd.pid").exists():
                        subprocess.call([str(ROOT / "local" / "samlocal.sh"), "docker-down"], env=g.env(), cwd=ROOT)  # noqa: S603
    for g in groups:
        if g.proc is not None:
            print(f"[e2e] group {g.number}: exit {g.proc.returncode} after {g.ended_at - g.started_at:.0f} s "
                  f"({len(g.files)} files; log {g.run_dir.relative_to(ROOT)}/e2e-tests.log)", flush=True)
    print(f"[e2e] the stack tests took {time.monotonic() - began:.0f} s in all (stacks up, tests, audit, stacks down)",
          flush=True)
    if args.update_durations and status == 0:
        measured = dict(seconds)
        for g in groups:
            measured |= file_seconds(g.run_dir / "e2e-junit.xml")  # the audits: the last group's
        DURATIONS.write_text(json.dumps(dict(sorted(measured.items())), indent=1) + "\n")
        print(f"[e2e] {DURATIONS.relative_to(ROOT)} updated", flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
