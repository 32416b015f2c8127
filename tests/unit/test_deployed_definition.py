"""The state machine as deployed to AWS: statemachine/publish.asl.json with template.yaml's
DefinitionSubstitutions evaluated for the parameters' defaults (what ``sam deploy`` to AWS gives).

It names only errors AWS raises for what is transient; the emulator's alias for every Lambda error
(``Runtime.HandlerError``) is added by the local deploy only (``EmulatorLambdaErrorName``); an unexpected
error of a workflow task goes to RecordUnexpected at once; and the execution has a timeout longer than the
longest legitimate life of a post, so ``ExecutionsTimedOut`` (an alarm) can be emitted.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from igpub.publishing.failures import MAX_RECREATIONS
from igpub.publishing.request import MAX_SCHEDULE_AHEAD
from tests.unit.test_template import _Loader

ROOT = Path(__file__).resolve().parents[2]
ASL = ROOT / "statemachine" / "publish.asl.json"

# What AWS reports for a transient failure of a Lambda task: the publisher's own AwsTransientError, the
# Lambda service's transient errors, and a task timeout
# (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-best-practices.html#bp-lambda-serviceexception,
# https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
AWS_TRANSIENT = {
    "AwsTransientError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Sandbox.Timedout",
    "States.Timeout",
}
EMULATOR_ONLY = {"Runtime.HandlerError"}  # ministack's name for every Lambda error
# Tasks whose whole job may run again whatever failed, and why; any other task retrying States.ALL fails.
SAFE_TO_RETRY_ANYTHING = {
    "RecordFailure": "records the failure (an idempotent update); the post must end with a status",
    "RecordUnexpected": "likewise, for an unexpected error",
    "FirstCommentGiveUp": "lists the media's comments before commenting, so it never comments twice",
    "EmitPostPublished": "EventBridge PutEvents, at-least-once anyway; best effort",
    "EmitPostFailed": "likewise",
    "RecordLastResort": "a conditional UpdateItem of the owner's post record (DynamoDB integration)",
}
# The workflow's tasks: an error that is not transient goes to RecordUnexpected at once.
WORKFLOW_TASKS = ("Prepare", "PrepareMedia", "CreateContainers", "CheckContainers", "Publish")


def _template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)  # noqa: S506
    return loaded


def _condition(template: dict[str, Any], expr: Any, params: dict[str, str]) -> bool:
    if isinstance(expr, dict) and len(expr) == 1:
        (tag, arg), = expr.items()
        if tag == "!Not":
            return not _condition(template, arg[0], params)
        if tag == "!Equals":
            return bool(_value(template, arg[0], params) == _value(template, arg[1], params))
        if tag == "!Condition" or (isinstance(arg, str) and tag == "Condition"):
            return _condition(template, template["Conditions"][arg], params)
    raise AssertionError(f"condition the test cannot evaluate: {expr!r}")


def _value(template: dict[str, Any], expr: Any, params: dict[str, str]) -> Any:
    if isinstance(expr, str):
        return expr
    if isinstance(expr, dict) and len(expr) == 1:
        (tag, arg), = expr.items()
        if tag == "!Ref" and arg in template["Parameters"]:
            return params.get(arg, str(template["Parameters"][arg].get("Default", "")))
        if tag in ("!Ref", "!GetAtt"):
            return f"arn:aws:lambda:us-east-1:123456789012:function:{arg}"  # a resource: any ARN
        if tag == "!If":
            name, yes, no = arg
            cond = _condition(template, template["Conditions"][name], params)
            return _value(template, yes if cond else no, params)
    raise AssertionError(f"substitution the test cannot evaluate: {expr!r}")


def deployed(params: dict[str, str] | None = None) -> dict[str, Any]:
    """The definition with the substitutions CloudFormation makes for these parameter values."""
    template = _template()
    machine = template["Resources"]["PublishStateMachine"]["Properties"]
    subs = {k: _value(template, v, params or {}) for k, v in machine["DefinitionSubstitutions"].items()}
    text = ASL.read_text()
    missing = set(re.findall(r"\$\{(\w+)\}", text)) - set(subs)
    assert not missing, f"placeholders without a DefinitionSubstitution: {missing}"
    rendered: dict[str, Any] = json.loads(re.sub(r"\$\{(\w+)\}", lambda m: str(subs[m.group(1)]), text))
    return rendered


def tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in definition["States"].items() if s["Type"] == "Task"}


def retried(state: dict[str, Any]) -> set[str]:
    return {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}


AWS = deployed()
LOCAL = deployed({"EmulatorLambdaErrorName": "Runtime.HandlerError"})


def test_the_definition_deployed_to_aws_names_no_emulator_error() -> None:
    text = json.dumps(AWS)
    assert not [e for e in EMULATOR_ONLY if e in text]
    assert "Runtime.HandlerError" not in ASL.read_text()  # the raw file neither: only the local deploy adds it


@pytest.mark.parametrize("name", sorted(tasks(AWS)))
def test_every_task_retries_only_transient_errors_on_aws(name: str) -> None:
    state = AWS["States"][name]
    names = retried(state)
    if name in SAFE_TO_RETRY_ANYTHING:
        assert names <= AWS_TRANSIENT | {"States.ALL"}, names
    else:
        assert "States.ALL" not in names, f"{name} retries any error: a bug would be retried like a timeout"
        assert names <= AWS_TRANSIENT, f"{name} retries {names - AWS_TRANSIENT}, not a transient AWS error"


@pytest.mark.parametrize("name", WORKFLOW_TASKS)
def test_an_unexpected_error_goes_to_record_unexpected_at_once(name: str) -> None:
    state = AWS["States"][name]
    assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordUnexpected"}]
    # a transient AWS error is retried with backoff, a Lambda service error too; nothing else is
    assert "AwsTransientError" in retried(state)
    assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= retried(state)
    assert retried(state) <= AWS_TRANSIENT


@pytest.mark.parametrize("name", WORKFLOW_TASKS)
def test_the_local_deploy_alone_retries_the_emulators_alias(name: str) -> None:
    first = LOCAL["States"][name]["Retry"][0]
    assert first["ErrorEquals"] == ["Runtime.HandlerError"]  # ministack reports AwsTransientError so
    assert first["MaxAttempts"] >= 3 and first["BackoffRate"] > 1  # bounded, with backoff
    assert AWS["States"][name]["Retry"][0]["ErrorEquals"] == ["AwsTransientError"]
    # nothing else differs between the two deployments
    local = json.dumps(LOCAL).replace("Runtime.HandlerError", "X")
    assert local == json.dumps(AWS).replace("AwsTransientError", "X")


def test_the_emulator_parameter_is_empty_by_default() -> None:
    param = _template()["Parameters"]["EmulatorLambdaErrorName"]
    assert param["Default"] == "" and set(param["AllowedValues"]) == {"", "Runtime.HandlerError"}
    assert "EmulatorLambdaErrorName=Runtime.HandlerError" in (ROOT / "local" / "stack.sh").read_text()


def test_the_execution_times_out_after_the_longest_legitimate_life_of_a_post() -> None:
    params = _template()["Parameters"]
    processing = timedelta(seconds=int(params["MaxStatusChecks"]["Default"])
                           * int(params["StatusPollIntervalSeconds"]["Default"]))
    # the farthest publish_at; then waits for the 24 h publishing quota while the containers live (24 h
    # each, created again MAX_RECREATIONS times); then processing
    longest = MAX_SCHEDULE_AHEAD + timedelta(days=1) * (MAX_RECREATIONS + 1) + processing
    timeout = timedelta(seconds=AWS["TimeoutSeconds"])
    assert timeout > longest + timedelta(days=1), (timeout, longest)  # a day to spare for rate-limit waits
    assert timeout <= timedelta(days=365)  # a Standard execution lives a year at most
