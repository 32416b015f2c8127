"""Every alarm in template.yaml watches a metric series the stack can emit: an alarm on a metric nothing
emits never fires (ExecutionsTimedOut without TimeoutSeconds was one)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_deployed_definition import AWS, _template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = _template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
ALARMS = {n: r for n, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
SOURCES = "\n".join(p.read_text() for p in [*(ROOT / "layers/igpub/igpub").rglob("*.py"),
                                             *(ROOT / "functions").glob("*/app.py")])


def _ref(value: Any) -> str:
    if isinstance(value, dict):
        (_tag, arg), = value.items()
        return str(arg).split(".")[0]
    return str(value)


def _emits_igpub_metric(name: str, dimensions: dict[str, str]) -> bool:
    """The library emits ``name`` as the series the alarm reads: with the service dimension only (Powertools
    Metrics adds it; count_total emits exactly it), not only inside a series with more dimensions."""
    if dimensions != {"service": "igpub"}:
        return False
    if re.search(rf'count_total\(\s*"{name}"\s*\)', SOURCES):
        return True
    # metrics.add_metric(name=...) in a function that adds no dimension of its own
    for path in [*(ROOT / "layers/igpub/igpub").rglob("*.py"), *(ROOT / "functions").glob("*/app.py")]:
        text = path.read_text()
        if re.search(rf'add_metric\(\s*name="{name}"', text) and "add_dimension" not in text:
            return True
    return False


def _can_emit(alarm: dict[str, Any]) -> str | None:
    """None when the stack can emit the alarm's series, else why not."""
    p = alarm["Properties"]
    namespace, metric = p["Namespace"], p["MetricName"]
    dims = {d["Name"]: _ref(d["Value"]) for d in p.get("Dimensions", [])}
    if namespace == "AWS/States":
        machine = RESOURCES.get(dims.get("StateMachineArn", ""))
        if not machine or machine["Type"] != "AWS::Serverless::StateMachine":
            return "no such state machine"
        if metric == "ExecutionsTimedOut":
            return None if AWS.get("TimeoutSeconds") else "the state machine has no TimeoutSeconds"
        if metric == "ExecutionsFailed":
            fails = [s for s in AWS["States"].values() if s["Type"] == "Fail"]
            return None if fails else "no Fail state"
        return f"unexpected metric {metric}"
    if namespace == "AWS/Lambda":
        fn = RESOURCES.get(dims.get("FunctionName", ""))
        ok = fn and fn["Type"] == "AWS::Serverless::Function" and metric in {"Errors", "Throttles"}
        return None if ok else "not a function's Errors/Throttles"
    if namespace == "AWS/SQS":
        queue = dims.get("QueueName", "")
        destinations = [
            f for f in RESOURCES.values()
            if f["Type"] == "AWS::Serverless::Function"
            and _ref(f["Properties"].get("EventInvokeConfig", {}).get("DestinationConfig", {})
                     .get("OnFailure", {}).get("Destination", "")) == queue
        ]
        return None if destinations and metric == "ApproximateNumberOfMessagesVisible" else "nothing sends to it"
    if namespace == "igpub":
        return None if _emits_igpub_metric(metric, dims) else f"igpub never emits {metric} with {dims}"
    return f"unknown namespace {namespace}"


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_each_alarm_watches_a_metric_the_stack_can_emit(name: str) -> None:
    assert _can_emit(ALARMS[name]) is None, f"{name}: {_can_emit(ALARMS[name])}"


def test_the_check_would_catch_an_alarm_on_nothing() -> None:
    """The check itself can fail: a timeout alarm without TimeoutSeconds, an igpub metric nobody emits."""
    timed_out = ALARMS["ExecutionsTimedOutAlarm"]
    saved = AWS.pop("TimeoutSeconds")
    try:
        assert _can_emit(timed_out) == "the state machine has no TimeoutSeconds"
    finally:
        AWS["TimeoutSeconds"] = saved
    ghost = {"Properties": {"Namespace": "igpub", "MetricName": "NothingEmitsThis",
                            "Dimensions": [{"Name": "service", "Value": "igpub"}]}}
    assert _can_emit(ghost) is not None
    per_kind = {"Properties": {"Namespace": "igpub", "MetricName": "PostsFailed",  # emitted with a kind only
                               "Dimensions": [{"Name": "service", "Value": "igpub"}]}}
    assert _can_emit(per_kind) is not None
