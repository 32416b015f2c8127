"""A small AST mutation run over the error table and the request validation (`make mutation`).

Each mutant changes ONE thing that can change a decision: an integer (a code, a subcode, a limit) +1, a
boolean flipped, a comparison or a boolean operator swapped, a `not` dropped, an element dropped from a
tuple (a code from a row, a row from the table, a kind from a set), an exception class swapped for a
neighbour (transient <-> invalid request, rate limited -> transient, ...), a keyword of an error-table row
dropped (`resend_safe`, `ops`, `wait_s`), a string a comparison tests replaced. Strings that are only
shown to people (advice, messages, docstrings) are not mutated.

A mutant is *killed* when the unit tests given for its file fail. The mutated package is a copy on
`sys.path` in front of the editable install, so the working tree is never modified; each mutant runs in a
process forked from a parent that has already imported the heavy libraries (pydantic, httpx, pytest).

    python -m bench.mutation                       # every mutant of every target
    python -m bench.mutation --sample 150 --seed 1  # a seeded sample
    python -m bench.mutation --target errors --list  # print the mutants, run nothing
    python -m bench.mutation --target publish --mutant 12 --mutant 40  # only these (indexes from --list)
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "layers" / "igpub" / "igpub"

# The fast tests of the publish protocol (no stack): its unit tests first (they kill most mutants in seconds),
# then the model's fixed scenarios, then the model-based test (tests/unit/publishing/test_protocol_model.py:
# Hypothesis, derandomized, IGPUB_MODEL_EXAMPLES examples; the run sets MODEL_EXAMPLES below unless given).
_MODEL_FILES = ["tests/unit/publishing/test_protocol_examples.py", "tests/unit/publishing/test_protocol_model.py"]
PROTOCOL_TESTS = [
    *sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "unit" / "publishing").glob("test_*.py")
        if str(p.relative_to(ROOT)) not in _MODEL_FILES
    ),
    "tests/unit/test_aws_transient.py",
    *_MODEL_FILES,
]
MODEL_EXAMPLES = "15"

# target name -> (file inside the package, the tests that guard it)
TARGETS: dict[str, tuple[str, list[str]]] = {
    "errors": (
        "instagram/errors.py",
        ["tests/unit/instagram/test_ig_errors.py", "tests/unit/instagram/test_ig_client.py"],
    ),
    "error_parsing": (
        "instagram/error_parsing.py",
        ["tests/unit/instagram/test_ig_errors.py", "tests/unit/instagram/test_ig_client.py"],
    ),
    "request": ("publishing/request.py", ["tests/unit/publishing/test_request.py"]),
    # the publish protocol (issue 18): its unit tests first (fast kills), the model-based test last
    "publish": ("publishing/publish.py", PROTOCOL_TESTS),
    "claiming": ("publishing/claiming.py", PROTOCOL_TESTS),
    "first_comment": ("publishing/first_comment.py", PROTOCOL_TESTS),
    "failures": ("publishing/failures.py", PROTOCOL_TESTS),
    "polling": ("publishing/polling.py", PROTOCOL_TESTS),
}

# An exception class and the neighbour a mutant turns it into (each swap flips what igpub does).
CLASS_SWAPS = {
    "TransientError": "InvalidRequestError",
    "NetworkError": "TransientError",
    "RateLimitedError": "TransientError",
    "AuthError": "InvalidRequestError",
    "PermissionDeniedError": "InvalidRequestError",
    "InvalidRequestError": "TransientError",
    "InvalidMediaError": "InvalidRequestError",
    "QuotaExhaustedError": "RateLimitedError",
    "NotReadyError": "TransientError",
    "ContainerExpiredError": "InvalidRequestError",
    "HashtagLimitError": "InvalidRequestError",
    "OAuthError": "OAuthConfigError",
    "OAuthConfigError": "OAuthError",
}
COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
ROW_CALLS = {"_R", "ErrorRow"}


@dataclass
class Mutant:
    target: str
    index: int
    line: int
    what: str
    source: str = field(repr=False, default="")
    killed: bool | None = None
    seconds: float = 0.0


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _compared_strings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for part in [node.left, *node.comparators]:
                for sub in ast.walk(part):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        ids.add(id(sub))
    return ids


def _sites(tree: ast.Module) -> Iterator[tuple[str, int, ast.AST, str]]:
    """(kind, line, node, description) of every place a mutant can be made, in a stable order."""
    docstrings = _docstring_ids(tree)
    compared = _compared_strings(tree)
    exported = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        for sub in ast.walk(node.value)
    }
    annotations = {
        id(sub)
        for node in ast.walk(tree)
        for ann in (
            [node.annotation] if isinstance(node, ast.AnnAssign | ast.arg) and node.annotation is not None else []
        ) + ([node.returns] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns else [])
        for sub in ast.walk(ann)
    }  # not evaluated at run time (`from __future__ import annotations`): mutants there are equivalent
    for node in ast.walk(tree):
        if id(node) in exported or id(node) in annotations:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and id(node) not in docstrings:
            if isinstance(node.value, bool):
                yield "bool", line, node, f"{node.value} -> {not node.value}"
            elif isinstance(node.value, int | float):
                yield "number", line, node, f"{node.value} -> {node.value + 1}"
            elif isinstance(node.value, str) and id(node) in compared:
                yield "string", line, node, f"{node.value!r} -> 'XX{node.value}'"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            pass  # -1 / -2 are mutated through their operand
        elif isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAPS:
                    yield f"compare:{i}", line, node, f"{type(op).__name__} -> {COMPARE_SWAPS[type(op)].__name__}"
        elif isinstance(node, ast.BoolOp):
            yield "boolop", line, node, f"{type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield "not", line, node, "drop `not`"
        elif isinstance(node, ast.Tuple | ast.Set | ast.List) and len(node.elts) > 1 and isinstance(
            getattr(node, "ctx", ast.Load()), ast.Load  # a set literal has no ctx
        ):
            for i, elt in enumerate(node.elts):
                if isinstance(elt, ast.Constant | ast.Call | ast.UnaryOp | ast.Attribute):
                    yield f"drop:{i}", getattr(elt, "lineno", line), node, f"drop element {ast.unparse(elt)[:60]}"
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in CLASS_SWAPS:
            yield "class", line, node, f"{node.id} -> {CLASS_SWAPS[node.id]}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ROW_CALLS:
            for i, kw in enumerate(node.keywords):
                if kw.arg != "advice":
                    yield f"kwdrop:{i}", line, node, f"drop {kw.arg}={ast.unparse(kw.value)[:40]}"


def _apply(node: ast.AST, kind: str) -> None:
    if kind == "bool":
        assert isinstance(node, ast.Constant)
        node.value = not node.value
    elif kind == "number":
        assert isinstance(node, ast.Constant)
        node.value = node.value + 1
    elif kind == "string":
        assert isinstance(node, ast.Constant)
        node.value = "XX" + node.value
    elif kind.startswith("compare:"):
        assert isinstance(node, ast.Compare)
        i = int(kind.split(":")[1])
        node.ops[i] = COMPARE_SWAPS[type(node.ops[i])]()
    elif kind == "boolop":
        assert isinstance(node, ast.BoolOp)
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif kind == "not":
        assert isinstance(node, ast.UnaryOp)
        node.operand = ast.UnaryOp(ast.Not(), node.operand)  # `not x` -> `not not x`, i.e. bool(x)
    elif kind.startswith("drop:"):
        assert isinstance(node, ast.Tuple | ast.Set | ast.List)
        del node.elts[int(kind.split(":")[1])]
    elif kind == "class":
        assert isinstance(node, ast.Name)
        node.id = CLASS_SWAPS[node.id]
    elif kind.startswith("kwdrop:"):
        assert isinstance(node, ast.Call)
        del node.keywords[int(kind.split(":")[1])]
    else:  # pragma: no cover
        raise ValueError(kind)


def mutants(target: str) -> list[Mutant]:
    rel, _ = TARGETS[target]
    text = (PACKAGE / rel).read_text()
    tree = ast.parse(text)
    sites = list(_sites(tree))
    out: list[Mutant] = []
    for index, (kind, line, _node, what) in enumerate(sites):
        mutated = ast.parse(text)
        node = list(_sites(mutated))[index][2]
        _apply(node, kind)
        ast.fix_missing_locations(mutated)
        try:
            source = ast.unparse(mutated)
            compile(source, rel, "exec")
        except (SyntaxError, ValueError):
            continue
        out.append(Mutant(target, index, line, what, source))
    return out


def _preload() -> None:
    """Import once, in the parent, what every child would import (not igpub: that is what is mutated)."""
    import importlib

    for name in ("httpx", "pydantic", "pydantic_settings", "pytest", "boto3", "botocore.session",
                 "aws_lambda_powertools", "aws_lambda_powertools.utilities.parser", "rich", "typer", "PIL.Image"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def _run_child(mutant: Mutant, workdir: Path) -> int:
    """In a forked child: a copy of the package with the mutated file first on pytest's pythonpath, then pytest."""
    import pytest

    pkg = workdir / "igpub"
    shutil.copytree(PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / TARGETS[mutant.target][0]).write_text(mutant.source)
    sys.dont_write_bytecode = True
    os.environ.setdefault("IGPUB_MODEL_EXAMPLES", MODEL_EXAMPLES)
    os.chdir(ROOT)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    args = ["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-o", f"pythonpath={workdir} ."]
    return int(pytest.main([*args, *TARGETS[mutant.target][1]]))


def run(batch: list[Mutant], jobs: int, timeout_s: float) -> None:
    _preload()
    pending = list(batch)
    running: dict[int, tuple[Mutant, float, Path]] = {}
    done = 0
    while pending or running:
        while pending and len(running) < jobs:
            mutant = pending.pop(0)
            workdir = Path(tempfile.mkdtemp(prefix="igpub-mutant-"))
            pid = os.fork()
            if pid == 0:  # child
                code = 1
                try:
                    code = _run_child(mutant, workdir)
                finally:
                    os._exit(code)
            running[pid] = (mutant, time.monotonic(), workdir)
        time.sleep(0.05)
        for pid, (mutant, started, workdir) in list(running.items()):
            finished, status = os.waitpid(pid, os.WNOHANG)
            elapsed = time.monotonic() - started
            if finished == 0 and elapsed < timeout_s:
                continue
            if finished == 0:  # a mutant that loops forever counts as killed
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                mutant.killed = True
            else:
                mutant.killed = os.waitstatus_to_exitcode(status) != 0
            mutant.seconds = elapsed
            shutil.rmtree(workdir, ignore_errors=True)
            del running[pid]
            done += 1
            if done % 25 == 0:
                print(f"  {done}/{len(batch)} run", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", action="append", choices=sorted(TARGETS), help="default: all")
    ap.add_argument("--sample", type=int, default=0, help="run a seeded sample of this many mutants per target")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--mutant", type=int, action="append", help="run only these mutant indexes (see --list)")
    ap.add_argument("--json", type=Path, default=ROOT / "mutation-results.json")
    args = ap.parse_args(argv)

    targets = args.target or list(TARGETS)
    rng = random.Random(args.seed)
    report: dict[str, object] = {"seed": args.seed, "sample": args.sample, "targets": {}}
    all_survivors = 0
    for target in targets:
        batch = mutants(target)
        total = len(batch)
        if args.sample and args.sample < total:
            batch = sorted(rng.sample(batch, args.sample), key=lambda m: m.index)
        if args.mutant:
            batch = [m for m in batch if m.index in args.mutant]
        if args.list:
            for m in batch:
                print(f"{target}:{m.line}: {m.what}  [#{m.index}]")
            continue
        print(f"{target}: {len(batch)} of {total} mutants ({TARGETS[target][0]})", flush=True)
        started = time.monotonic()
        run(batch, args.jobs, args.timeout)
        killed = sum(1 for m in batch if m.killed)
        survivors = [m for m in batch if not m.killed]
        all_survivors += len(survivors)
        score = 100.0 * killed / len(batch) if batch else 100.0
        print(f"{target}: killed {killed} of {len(batch)} ({score:.1f} %) in {time.monotonic() - started:.0f} s")
        for m in survivors:
            print(f"  SURVIVED {TARGETS[target][0]}:{m.line}: {m.what}  [#{m.index}]")
        report["targets"][target] = {  # type: ignore[index]
            "file": TARGETS[target][0],
            "mutants": total,
            "run": len(batch),
            "killed": killed,
            "score_pct": round(score, 1),
            "survivors": [{"line": m.line, "what": m.what, "index": m.index} for m in survivors],
        }
    if not args.list:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
