"""The deployment's CloudWatch alarms (CloudFormation names them ``<stack>-<logical id>-<suffix>``)."""

from __future__ import annotations

from typing import Any

from igpub_cli.deployment import Deployment


def list_alarms(dep: Deployment, *, firing_only: bool = False) -> list[dict[str, Any]]:
    """The stack's metric alarms, by name: name, state, since (ISO time), reason."""
    cloudwatch = dep.client("cloudwatch")
    kwargs: dict[str, Any] = {"AlarmNamePrefix": f"{dep.stack}-", "AlarmTypes": ["MetricAlarm"]}
    if firing_only:
        kwargs["StateValue"] = "ALARM"
    out: list[dict[str, Any]] = []
    for page in cloudwatch.get_paginator("describe_alarms").paginate(**kwargs):
        for alarm in page.get("MetricAlarms", []):
            since = alarm.get("StateUpdatedTimestamp")
            out.append({
                "name": alarm["AlarmName"],
                "state": alarm.get("StateValue", ""),
                "since": since.isoformat(timespec="seconds") if since is not None else "",
                "reason": alarm.get("StateReason", ""),
            })
    return sorted(out, key=lambda a: a["name"])
