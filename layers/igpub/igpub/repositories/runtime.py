"""The AWS calls the deauthorize and deletion code makes beside DynamoDB: start the deletion function
asynchronously, stop a waiting publish execution."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from igpub.observability import logger
from igpub.repositories import aws


def invoke_async(function_name: str, payload: dict[str, Any]) -> None:
    """Lambda ``Event`` invocation: queued by Lambda (retried twice on failure), answered at once."""
    aws.session().client("lambda").invoke(
        FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload).encode()
    )


def execution_running(execution_arn: str) -> bool:
    """Whether a publish execution still runs. One that does not exist does not, nor one outside the publish
    state machine (the function may read all of its executions, and only them: AccessDenied means another
    machine's or a made-up ARN, e.g. a sample event's); one that cannot be read now (throttled, an AWS error)
    is taken to run, so the caller waits for it."""
    try:
        status = aws.session().client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        logger.info("execution not read", extra={"error": code})
        return code not in ("ExecutionDoesNotExist", "InvalidArn", "AccessDeniedException")
    return bool(status == "RUNNING")


def stop_execution(execution_arn: str, cause: str) -> None:
    """Stop a publish execution (best effort: one that already ended, or a missing permission, is logged)."""
    try:
        aws.session().client("stepfunctions").stop_execution(executionArn=execution_arn, cause=cause)
    except ClientError as exc:
        logger.info("execution not stopped", extra={"error": exc.response["Error"]["Code"]})
