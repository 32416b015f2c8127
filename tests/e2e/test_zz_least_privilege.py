"""Least privilege, shown: every grant in a function's policy was used by that function during the e2e suite.

Each function logs, per invocation, the IAM actions it used and the resource each call named
(``aws_calls``, igpub.repositories.aws.take_calls). After the whole e2e suite (marker audit_last), this test
reads those lines from the emulator's CloudWatch Logs and the functions' deployed role policies (what SAM
expanded, with ARNs), and fails for every grant (action on a resource) its function never used, apart from
the short allow-list below. ``AUTH=true`` on the local stack shows the other direction: a call the policy
lacks fails the suite.

Run alone (or with part of the e2e suite) it skips: usage from a part of the suite proves nothing. When the
suite ran in groups, each on a stack of its own (local/e2e_groups.py, `make test`), the runner calls this test
once after every group, with IGPUB_AUDIT_STACK_FILES naming the stacks: a grant counts as used when any of them
used it (they are deployed from one build, so their policies match grant for grant).
``python -m tests.e2e.test_zz_least_privilege`` prints the comparison for the running stack.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from igpub_cli.deployment import Deployment
from tests.e2e.cwlogs import log_events
from tests.local_stack import RUN_DIR

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("OAuthFunction", "PublisherFunction", "HashtagsFunction", "WebhooksFunction", "EngagementFunction",
             "RefresherFunction", "MediaFunction", "MetaCallbacksFunction", "DataDeletionFunction")
# Functions the audit does not cover, and why (every function of the stack is in one of the two lists).
NOT_AUDITED: dict[str, str] = {}
# Managed policies every function has, for the Lambda runtime's own writes (not the code's calls).
RUNTIME_MANAGED = {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}
# Grants kept although the e2e suite does not use them, and why: (function, action, a part of the resource ARN).
ALLOWED_UNUSED: dict[tuple[str, str, str], str] = {
    ("RefresherFunction", "sqs:SendMessage", "RefresherFailureQueue"):
        "the Lambda service, not the code, sends a failed asynchronous run there (EventInvokeConfig OnFailure)",
    ("PublisherFunction", "s3:ListBucket", "mediabucket"):
        "never called: it makes S3 answer a missing upload with 404 (NoSuchKey, 'media missing'), not 403",
    ("DataDeletionFunction", "sqs:SendMessage", "DataDeletionFailureQueue"):
        "the Lambda service, not the code, sends a failed asynchronous run there (EventInvokeConfig OnFailure)",
    ("EngagementFunction", "dynamodb:GetItem", "UsageTable"):
        "the call budget reads its row after a refused conditional update (budget spent); no engagement test spends it",
}


def _policy_grants(dep: Deployment, role: str) -> list[tuple[str, str, str]]:
    """(action, resource pattern, where) for each Allow of the role's inline policies."""
    iam = dep.client("iam")
    grants: list[tuple[str, str, str]] = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        for st in statements:
            if st.get("Effect") != "Allow":
                continue
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            where = f"{name}/{st.get('Sid', '')}".rstrip("/")
            grants += [(a, r, where) for a in actions for r in resources]
    return grants


def _used_calls(dep: Deployment, function_name: str) -> set[str]:
    logs = dep.client("logs")
    calls: set[str] = set()
    try:
        for e in log_events(logs, f"/aws/lambda/{function_name}"):  # read whole (tests/e2e/cwlogs.py)
            message = e["message"]
            if '"aws_calls"' not in message:
                continue
            try:
                calls.update(json.loads(message[message.index("{"):]).get("aws_calls") or [])
            except ValueError:
                continue
    except logs.exceptions.ResourceNotFoundException:
        pass
    return calls


def _arn(dep: Deployment, call: str, secrets: dict[str, str], key_arn: str) -> tuple[str, str]:
    """("dynamodb:GetItem", "arn:aws:dynamodb:...:table/x") for a logged call."""
    action, _, resource = call.partition(" ")
    service = action.split(":")[0]
    region, account = dep.region, "000000000000"
    if service == "dynamodb":
        return action, f"arn:aws:dynamodb:{region}:{account}:table/{resource}"
    if service == "secretsmanager":
        return action, secrets.get(resource, resource)
    if service == "ssm":
        return action, f"arn:aws:ssm:{region}:{account}:parameter{resource}"
    if service == "kms":  # Decrypt names no key (the ciphertext does): the stack has one key
        return action, key_arn if resource in ("*", "") or resource in key_arn else resource
    if service == "s3":
        return action, f"arn:aws:s3:::{resource}"
    if service == "events":
        return action, f"arn:aws:events:{region}:{account}:event-bus/{resource}"
    if service == "lambda" and not resource.startswith("arn:"):
        return action, f"arn:aws:lambda:{region}:{account}:function:{resource}"
    return action, resource


def _grant_use(dep: Deployment, fn: str) -> tuple[list[tuple[str, str, str]], list[bool], set[str], set[str]]:
    """One stack's view of a function: its grants, whether each was used, the calls it made, its managed
    policies."""
    cfn = dep.client("cloudformation")
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.list_stack_resources(StackName=dep.stack)["StackResourceSummaries"]}
    sm = dep.client("secretsmanager")
    secrets: dict[str, str] = {}
    for s in sm.list_secrets()["SecretList"]:
        secrets[s["Name"]] = s["ARN"]
        secrets[s["ARN"]] = s["ARN"]
    key_arn = dep.client("kms").describe_key(KeyId=dep.output("TokenKeyId"))["KeyMetadata"]["Arn"]
    role = resources[f"{fn}Role"]
    attached = {p["PolicyName"] for p in dep.client("iam").list_attached_role_policies(RoleName=role)[
        "AttachedPolicies"]}
    calls = _used_calls(dep, resources[fn])
    used = {_arn(dep, c, secrets, key_arn) for c in calls}
    grants = _policy_grants(dep, role)
    flags = [any(a.lower() == action.lower() and fnmatch.fnmatchcase(arn, pattern) for a, arn in used)
             for action, pattern, _ in grants]
    return grants, flags, calls, attached


def compare(dep: Deployment, also: Sequence[Deployment] = ()) -> dict[str, dict[str, Any]]:
    """Per function: the calls it made, and the grants none of them used (on ``dep`` or any stack in ``also``,
    deployed from the same build)."""
    out: dict[str, dict[str, Any]] = {}
    for fn in FUNCTIONS:
        grants, flags, calls, attached = _grant_use(dep, fn)
        for other in also:
            other_grants, other_flags, other_calls, _ = _grant_use(other, fn)
            assert [(a, w) for a, _, w in other_grants] == [(a, w) for a, _, w in grants], (
                f"{fn}: the stacks' policies differ (deployed from different builds?)")
            flags = [x or y for x, y in zip(flags, other_flags, strict=True)]
            calls |= other_calls
        unused = []
        for (action, pattern, where), was_used in zip(grants, flags, strict=True):
            if was_used:
                continue
            if any(fn == f and action == a and part.lower() in pattern.lower() for f, a, part in ALLOWED_UNUSED):
                continue
            unused.append(f"{action} on {pattern} ({where})")
        out[fn] = {"calls": sorted(calls), "unused": sorted(set(unused)),
                   "extra_managed": sorted(attached - RUNTIME_MANAGED)}
    return out


def _other_stacks(dep: Deployment) -> list[Deployment]:
    """The other groups' stacks (IGPUB_AUDIT_STACK_FILES, set by local/e2e_groups.py)."""
    files = [Path(f) for f in os.environ.get("IGPUB_AUDIT_STACK_FILES", "").split(os.pathsep) if f]
    others = [Deployment.load(stack_file=f) for f in files]
    return [o for o in others if o.endpoint_url != dep.endpoint_url]


def _whole_e2e_suite_ran(items: Iterable[pytest.Item]) -> bool:
    if os.environ.get("IGPUB_WHOLE_E2E_RAN") == "1":  # in groups, on the stacks of IGPUB_AUDIT_STACK_FILES
        return True
    ran = {Path(str(i.fspath)).name for i in items}
    return {p.name for p in (ROOT / "tests" / "e2e").glob("test_*.py")} <= ran


@pytest.mark.audit_last
def test_every_grant_was_used_by_its_function(dep: Deployment, request: pytest.FixtureRequest) -> None:
    if not _whole_e2e_suite_ran(request.session.items):
        pytest.skip("the least-privilege audit needs the whole e2e suite in the same session (make test)")
    functions = {r["LogicalResourceId"] for r in dep.client("cloudformation").list_stack_resources(
        StackName=dep.stack)["StackResourceSummaries"] if r["ResourceType"] == "AWS::Lambda::Function"}
    assert functions <= set(FUNCTIONS) | set(NOT_AUDITED), f"not audited: {functions - set(FUNCTIONS)}"
    report = compare(dep, _other_stacks(dep))
    for fn, r in report.items():
        assert r["calls"], f"{fn} logged no aws_calls: the audit would be empty"
    problems = [f"{fn}: grants {u}, never used" for fn, r in report.items() for u in r["unused"]]
    problems += [f"{fn}: managed policy {m}" for fn, r in report.items() for m in r["extra_managed"]]
    assert problems == [], "\n".join(problems)


def test_the_allow_list_stays_short_and_names_existing_functions() -> None:
    assert len(ALLOWED_UNUSED) <= 5
    assert all(fn in FUNCTIONS and reason for (fn, _, _), reason in ALLOWED_UNUSED.items())


if __name__ == "__main__":  # print the comparison for the running local stack
    report = compare(Deployment.load(stack_file=RUN_DIR / "stack.json"))
    json.dump(report, sys.stdout, indent=2)
    print()
    counts: dict[str, int] = defaultdict(int)
    for fn, r in report.items():
        counts[fn] = len(r["unused"])
    print({k: v for k, v in counts.items()})
