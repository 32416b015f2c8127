"""`igpub disconnect`: the operator's way to what Meta's deauthorize and data deletion callbacks do
(igpub.connect.deauthorize, igpub.connect.deletion), with the operator's AWS credentials. The deletion
itself runs in the deployment's DataDeletionFunction (invoked synchronously here), as for Meta's requests."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from igpub.accounts import Account
from igpub.connect import deauthorize
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.deletions import DeletionRepository, DeletionRequest
from igpub.repositories.events import EventPublisher
from igpub.repositories.personal_data import PersonalDataStore
from igpub_cli.deployment import Deployment


class NotConnected(Exception):
    """No account of the deployment has that id (or app-scoped id)."""


@dataclass
class Disconnected:
    accounts: list[deauthorize.Deauthorized]
    deletion: DeletionRequest | None = None
    deletion_result: dict[str, Any] = field(default_factory=dict)


def _table_factory(dep: Deployment) -> Any:
    names = {v: k for k, v in dep.outputs.items() if k.endswith("TableName")}
    return lambda name: dep.table(names[name])


def callback_deps(dep: Deployment, *, start_deletion: Any = None) -> deauthorize.Deps:
    sfn = dep.client("stepfunctions")

    def stop(arn: str, cause: str) -> None:
        try:
            sfn.stop_execution(executionArn=arn, cause=cause)
        except ClientError:
            pass  # already ended

    def subject_key() -> str:
        secret = dep.client("secretsmanager").get_secret_value(SecretId=dep.output("AppSecretArn"))
        return str(secret["SecretString"])

    o = dep.outputs
    data = PersonalDataStore(
        posts_table=o["PostsTableName"], usage_table=o["UsageTableName"], idempotency_table=o["IdempotencyTableName"],
        hashtags_table=o["HashtagsTableName"], webhook_events_table=o["WebhookEventsTableName"],
        invites_table=o["InvitesTableName"], media_bucket=o["MediaBucketName"], s3=dep.client("s3"),
        table=_table_factory(dep),
    )
    return deauthorize.Deps(
        accounts=AccountRepository(o["AccountsTableName"], table=dep.table("AccountsTableName")),
        data=data,
        deletions=DeletionRepository(
            dep.output("DeletionRequestsTableName"), table=dep.table("DeletionRequestsTableName")
        ),
        events=EventPublisher("default", client=dep.client("events")),
        stop_execution=stop, start_deletion=start_deletion, subject_key=subject_key,
    )


def find_account(dep: Deployment, account_id: str) -> Account:
    found = AccountRepository(dep.output("AccountsTableName"), table=dep.table("AccountsTableName")).find(account_id)
    if not found:
        raise NotConnected(f"no account {account_id} is connected to igpub (see igpub accounts)")
    return found[0]


def run_deletion(dep: Deployment, code: str) -> dict[str, Any]:
    """Run the deployment's DataDeletionFunction for request ``code`` and wait for it."""
    resp = dep.client("lambda").invoke(
        FunctionName=dep.output("DataDeletionFunctionName"), InvocationType="RequestResponse",
        Payload=json.dumps({"code": code}).encode(),
    )
    result: dict[str, Any] = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        raise RuntimeError(f"the data deletion failed: {result.get('errorMessage') or result}")
    return result


def disconnect(dep: Deployment, account_id: str, *, delete_data: bool = False) -> Disconnected:
    """Deauthorize the account (token deleted, scheduled posts ended, nothing published any more); with
    ``delete_data``, also delete what igpub holds about it, exactly as for a person's request to Meta."""
    account = find_account(dep, account_id)
    results: dict[str, Any] = {}

    def start(code: str) -> None:
        results.update(run_deletion(dep, code))

    deps = callback_deps(dep, start_deletion=start)
    now = time.time()
    done = [deauthorize.deauthorize_account(deps, account, by="operator", now=now)]
    if not delete_data:
        return Disconnected(done)
    request = deauthorize.request_deletion(deps, account.account_id, source="operator", now=now)
    return Disconnected(done, deps.deletions.get(request.code) or request, results)


def deletion_requests(dep: Deployment) -> list[DeletionRequest]:
    """Deletion requests whose record has not expired yet (the status page answers for these)."""
    return DeletionRepository(dep.output("DeletionRequestsTableName"),
                              table=dep.table("DeletionRequestsTableName")).all(now=time.time())


def refuse_deletion(dep: Deployment, code: str, reason: str) -> DeletionRequest | None:
    """Record that a pending request is refused, with the justification the status page shows."""
    return DeletionRepository(dep.output("DeletionRequestsTableName"),
                              table=dep.table("DeletionRequestsTableName")).refuse(code, reason=reason, now=time.time())
