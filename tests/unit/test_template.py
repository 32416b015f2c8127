"""template.yaml read as the document it is: data kept on deletion, and every problem seen.

Offline: the template is parsed as YAML (CloudFormation's short-form tags become ``{"!Tag": value}``).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from igpub.publishing import failures
from tests.unit.publishing.test_workflow_publish import Client as PublishClient
from tests.unit.publishing.test_workflow_publish import deps as publish_deps

ROOT = Path(__file__).resolve().parents[2]

# Resources whose loss loses data: a deleted or replaced one must stay (Retain), whatever the change.
STATEFUL_TYPES = {
    "AWS::KMS::Key",
    "AWS::SecretsManager::Secret",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::RDS::DBInstance",
    "AWS::EFS::FileSystem",
}
# Stateful resources that may go with the stack, and why (a new table lands in neither set: the test fails).
DISPOSABLE = {
    "OAuthStatesTable": "single-use OAuth states that live 10 minutes",
    "UsageTable": "Instagram usage counters of the last hour",
    "IdempotencyTable": "Powertools idempotency records with a TTL",
    "InvitesTable": "connect invites: an unused one is simply issued again",
    "AlarmTopicKey": "encrypts alarm notifications, which are delivered at once: no data at rest depends on it",
}
MUST_RETAIN = {"TokenKey", "AppSecret", "FacebookAppSecret", "AccountsTable", "PostsTable", "HashtagsTable",
               "DeletionRequestsTable"}
# Data nobody can recreate: point-in-time recovery on.
NEEDS_PITR = {"AccountsTable", "PostsTable", "HashtagsTable"}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml: 10x faster
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {f"!{suffix}": value}


_Loader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return loaded


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(template["Resources"])


def of_type(resources: dict[str, dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


# ------------------------------------------------------------------------------------------ data kept
def test_every_stateful_resource_is_retained_or_named_disposable(resources: dict[str, dict[str, Any]]) -> None:
    problems = []
    for name, r in resources.items():
        if r["Type"] not in STATEFUL_TYPES or name in DISPOSABLE:
            continue
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            if r.get(policy) != "Retain":
                problems.append(f"{name} ({r['Type']}) has {policy}={r.get(policy)!r}, not Retain")
    assert problems == []


def test_the_token_key_secrets_and_data_tables_are_retained(resources: dict[str, dict[str, Any]]) -> None:
    for name in MUST_RETAIN:
        assert resources[name].get("DeletionPolicy") == "Retain", name
        assert resources[name].get("UpdateReplacePolicy") == "Retain", name
    assert not MUST_RETAIN & set(DISPOSABLE)


def test_the_disposable_list_names_existing_resources(resources: dict[str, dict[str, Any]]) -> None:
    # the list must not go stale (a renamed table would otherwise escape the check above)
    for name in DISPOSABLE:
        assert name in resources, f"{name} is listed as disposable but the template has no such resource"


def test_tables_nobody_can_recreate_have_point_in_time_recovery(resources: dict[str, dict[str, Any]]) -> None:
    for name in NEEDS_PITR:
        spec = resources[name]["Properties"].get("PointInTimeRecoverySpecification") or {}
        assert spec.get("PointInTimeRecoveryEnabled") is True, name


def test_every_table_is_encrypted(resources: dict[str, dict[str, Any]]) -> None:
    for name, r in of_type(resources, "AWS::DynamoDB::Table").items():
        assert r["Properties"].get("SSESpecification", {}).get("SSEEnabled") is True, name


# ------------------------------------------------------------------------------------------ seen
def _alarms(resources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in of_type(resources, "AWS::CloudWatch::Alarm").items()}


def _alarm_on(alarms: dict[str, dict[str, Any]], namespace: str, metric: str, dimension_ref: str) -> list[str]:
    found = []
    for name, a in alarms.items():
        if a.get("Namespace") != namespace or a.get("MetricName") != metric:
            continue
        dims = {d["Name"]: d["Value"] for d in a.get("Dimensions", [])}
        if {"!Ref": dimension_ref} in dims.values():
            found.append(name)
    return found


def test_every_alarm_notifies_the_topic(resources: dict[str, dict[str, Any]]) -> None:
    alarms = _alarms(resources)
    assert len(alarms) >= 12
    for name, a in alarms.items():
        assert a.get("AlarmActions") == [{"!Ref": "AlarmTopic"}], name
        assert a.get("TreatMissingData") == "notBreaching", name


def test_each_function_has_an_errors_and_a_throttles_alarm(resources: dict[str, dict[str, Any]]) -> None:
    alarms = _alarms(resources)
    functions = of_type(resources, "AWS::Serverless::Function")
    assert len(functions) >= 4
    for fn in functions:
        assert _alarm_on(alarms, "AWS/Lambda", "Errors", fn), f"no Errors alarm for {fn}"
        assert _alarm_on(alarms, "AWS/Lambda", "Throttles", fn), f"no Throttles alarm for {fn}"


def test_failed_and_timed_out_executions_raise_alarms(resources: dict[str, dict[str, Any]]) -> None:
    alarms = _alarms(resources)
    for machine in of_type(resources, "AWS::Serverless::StateMachine"):
        assert _alarm_on(alarms, "AWS/States", "ExecutionsFailed", machine)
        assert _alarm_on(alarms, "AWS/States", "ExecutionsTimedOut", machine)


def _emitted_metrics(stdout: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric-format documents printed (one JSON object per line), one entry per
    metric: its namespace, name and dimension values."""
    found = []
    for line in stdout.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                dims = [{"Name": d, "Value": doc[d]} for group in directive["Dimensions"] for d in group]
                found.append({"Namespace": directive["Namespace"], "MetricName": metric["Name"], "Dimensions": dims})
    return found


def test_failed_posts_above_the_threshold_raise_an_alarm(
    template: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    alarms = _alarms(template["Resources"])
    posts_failed = [a for a in alarms.values() if a.get("MetricName") == "PostsFailedTotal"]
    assert len(posts_failed) == 1
    alarm = posts_failed[0]
    assert alarm["Namespace"] == "igpub" and alarm["Dimensions"] == [{"Name": "service", "Value": "igpub"}]
    assert alarm["Threshold"] == {"!Ref": "PostsFailedAlarmThreshold"}
    assert "PostsFailedAlarmThreshold" in template["Parameters"]
    # the publisher emits that very series when a post fails (the per-kind PostsFailed has a kind dimension
    # an alarm cannot sum here)
    deps, _posts = publish_deps(PublishClient("FINISHED"), attempted_at=None)
    capsys.readouterr()
    outcome = failures.fail(
        deps, "p1", {"status": "failed", "reason": "refused", "code": "media_rejected"}, None, execution_id="e1"
    )
    assert outcome["status"] == "failed"
    emitted = _emitted_metrics(capsys.readouterr().out)
    wanted = {"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"], "Dimensions": alarm["Dimensions"]}
    assert emitted.count(wanted) == 1, emitted


def test_refresher_failures_raise_alarms(resources: dict[str, dict[str, Any]]) -> None:
    alarms = _alarms(resources)
    assert any(a.get("MetricName") == "TokenRefreshFailed" and a.get("Namespace") == "igpub" for a in alarms.values())
    queue_alarms = [a["Dimensions"][0]["Value"] for a in alarms.values() if a.get("Namespace") == "AWS/SQS"]
    assert {"!GetAtt": "RefresherFailureQueue.QueueName"} in queue_alarms


@pytest.mark.parametrize(("function", "queue"), [("RefresherFunction", "RefresherFailureQueue"),
                                                 ("DataDeletionFunction", "DataDeletionFailureQueue")])
def test_asynchronous_functions_have_an_alarmed_on_failure_destination(
    resources: dict[str, dict[str, Any]], function: str, queue: str
) -> None:
    config = resources[function]["Properties"]["EventInvokeConfig"]
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    assert on_failure["Destination"] == {"!GetAtt": f"{queue}.Arn"}
    watched = [a["Dimensions"][0]["Value"] for a in _alarms(resources).values() if a.get("Namespace") == "AWS/SQS"]
    assert {"!GetAtt": f"{queue}.QueueName"} in watched


def test_the_topic_takes_an_optional_email_and_reauth_events(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""
    sub = resources["AlarmEmailSubscription"]
    assert sub["Condition"] == "HasAlarmEmail"
    assert sub["Properties"]["TopicArn"] == {"!Ref": "AlarmTopic"}
    rule = resources["AccountNeedsReauthRule"]["Properties"]
    assert rule["EventPattern"] == {"source": ["igpub"], "detail-type": ["igpub.AccountNeedsReauth"]}
    assert rule["Targets"][0]["Arn"] == {"!Ref": "AlarmTopic"}
    # the topic lets that rule (and CloudWatch) publish, nobody else
    statements = resources["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    principals = {s["Principal"]["Service"] for s in statements}
    assert principals == {"events.amazonaws.com", "cloudwatch.amazonaws.com"}
    assert all(s.get("Condition") for s in statements)


def test_every_function_and_the_state_machine_log_with_a_retention(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    groups = of_type(resources, "AWS::Logs::LogGroup")
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"!Ref": "LogRetentionDays"}
    names = [g["Properties"]["LogGroupName"].get("!Sub", "") for g in groups.values()]
    for fn in of_type(resources, "AWS::Serverless::Function"):
        assert f"/aws/lambda/${{{fn}}}" in names, f"no log group for {fn}"
    machine = resources["PublishStateMachine"]["Properties"]
    destination = machine["Logging"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert destination["!GetAtt"].split(".")[0] in groups
    assert machine["Logging"]["IncludeExecutionData"] is False  # post requests stay out of the logs


def test_the_api_logs_access_and_traces(resources: dict[str, dict[str, Any]]) -> None:
    api = resources["IgpubApi"]["Properties"]
    assert api["AccessLogSetting"]["DestinationArn"] == {"!GetAtt": "ApiAccessLogGroup.Arn"}
    fmt = api["AccessLogSetting"]["Format"]
    assert "$context.requestId" in fmt and "$context.status" in fmt
    # the callback's query string holds a one-time code and the invite: never in the access log
    assert "querystring" not in fmt.lower() and "$context.path" not in fmt
    assert api["TracingEnabled"] == {"!If": ["TracingActive", True, False]}


def test_post_events_are_sent_by_the_publisher_not_the_state_machine(resources: dict[str, dict[str, Any]]) -> None:
    """igpub.PostPublished / igpub.PostFailed come from the task that knows the outcome (issue 24)."""
    assert {"EventBridgePutEventsPolicy": {"EventBusName": "default"}} in (
        resources["PublisherFunction"]["Properties"]["Policies"])
    assert {"EventBridgePutEventsPolicy": {"EventBusName": "default"}} not in (
        resources["PublishStateMachine"]["Properties"]["Policies"])


@pytest.mark.parametrize("handler", sorted((ROOT / "functions").glob("*/app.py")), ids=lambda p: p.parent.name)
def test_every_handler_is_traced(handler: Path) -> None:
    tree = ast.parse(handler.read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "lambda_handler")
    decorators = [ast.unparse(d) for d in fn.decorator_list]
    assert "tracer.capture_lambda_handler" in decorators


def test_every_checkov_skip_gives_its_reason(resources: dict[str, dict[str, Any]]) -> None:
    """`make lint` runs checkov with 0 failed checks: what is not fixed is skipped in the template, each skip
    with a one-line reason a reviewer can accept or refuse."""
    skips = [(name, s) for name, r in resources.items()
             for s in r.get("Metadata", {}).get("checkov", {}).get("skip", [])]
    assert skips, "no checkov skip found: the template layout changed?"
    for name, skip in skips:
        assert str(skip.get("id", "")).startswith("CKV_"), (name, skip)
        assert len(str(skip.get("comment", ""))) >= 30, f"{name}: {skip['id']} skipped without a reason"


def test_the_public_callbacks_cannot_delete_data_and_the_deletion_has_no_route(
    resources: dict[str, dict[str, Any]],
) -> None:
    """Meta's callbacks answer the internet: they may deauthorize and record requests, never delete a
    person's data (DataDeletionFunction does, invoked, never behind a route). No wildcard resource."""
    callbacks = resources["MetaCallbacksFunction"]["Properties"]
    statements = [st for p in callbacks["Policies"] if "Statement" in p for st in p["Statement"]]
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert st["Resource"] != "*", st["Sid"]
        if "dynamodb:DeleteItem" in actions:
            assert st["Resource"] == {"!GetAtt": "HashtagsTable.Arn"}, st["Sid"]  # the Facebook connection only
        assert not {"s3:DeleteObject", "dynamodb:PutItem"} & set(actions) or st["Sid"] == "DeletionRequests"
    assert "Events" not in resources["DataDeletionFunction"]["Properties"]
    paths = {e["Properties"]["Path"] for e in callbacks["Events"].values()}
    assert paths == {"/instagram/deauthorize", "/instagram/data-deletion", "/instagram/data-deletion/status",
                     "/facebook/deauthorize", "/facebook/data-deletion"}
    assert all(e["Type"] == "Api" for e in callbacks["Events"].values())  # REST routes (HttpApi: none locally)
