"""`igpub disconnect`: the operator's way to what Meta's deauthorize and data deletion callbacks do. The
deployment's DataDeletionFunction does the work (igpub.connect.deauthorize, igpub.connect.deletion): the
operator's credentials only read accounts without their tokens and invoke that function (the admin policy)."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.config import Config

from igpub.accounts import Account
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.deletions import DeletionRepository, DeletionRequest
from igpub_cli.deployment import Deployment

# what people may read of a deletion request (the people policies allow only these): never the person's ids
PUBLIC_DELETION_ATTRIBUTES = ("pk", "code", "status", "source", "requested_at", "started_at", "completed_at",
                              "reason", "summary", "expires_at")


class NotConnected(Exception):
    """No account of the deployment has that id (or app-scoped id)."""


def find_account(dep: Deployment, account_id: str) -> Account:
    repo = AccountRepository(dep.output("AccountsTableName"), table=dep.table("AccountsTableName"))
    found = repo.get(account_id, public=True)
    if found is None:
        found = next((a for a in repo.all(public=True) if a.app_scoped_id == account_id), None)
    if found is None:
        raise NotConnected(f"no account {account_id} is connected to igpub (see igpub accounts)")
    return found


def disconnect(dep: Deployment, account_id: str, *, delete_data: bool = False) -> dict[str, Any]:
    """Deauthorize the account (token deleted, scheduled posts ended, nothing published any more); with
    ``delete_data``, also delete what igpub holds about it, exactly as for a person's request to Meta.
    Waits for the deletion (up to the function's 5 minutes)."""
    client = dep.client("lambda", config=Config(read_timeout=330, retries={"max_attempts": 0}))
    resp = client.invoke(
        FunctionName=dep.output("DataDeletionFunctionName"), InvocationType="RequestResponse",
        Payload=json.dumps({"action": "disconnect", "account_id": account_id, "delete_data": delete_data}).encode(),
    )
    result: dict[str, Any] = json.loads(resp["Payload"].read() or b"{}")
    if resp.get("FunctionError"):
        raise RuntimeError(f"the disconnect failed: {result.get('errorMessage') or result}")
    if result.get("status") == "not_connected":
        raise NotConnected(f"no account {account_id} is connected to igpub (see igpub accounts)")
    return result


def _repo(dep: Deployment) -> DeletionRepository:
    return DeletionRepository(dep.output("DeletionRequestsTableName"), table=dep.table("DeletionRequestsTableName"))


def deletion_requests(dep: Deployment) -> list[DeletionRequest]:
    """Deletion requests whose record has not expired yet (the status page answers for these)."""
    return _repo(dep).all(now=time.time(), projection=PUBLIC_DELETION_ATTRIBUTES)


def refuse_deletion(dep: Deployment, code: str, reason: str) -> DeletionRequest | None:
    """Record that a pending request is refused, with the justification the status page shows."""
    return _repo(dep).refuse(code, reason=reason, now=time.time())


def callback_deps(dep: Deployment) -> Any:
    """The callbacks' dependencies on this deployment with the caller's credentials (tests; root on the
    local stack): opens deletion requests without starting them."""
    from igpub.connect import deauthorize
    from igpub.repositories.events import EventPublisher
    from igpub.repositories.personal_data import PersonalDataStore

    o = dep.outputs
    names = {v: k for k, v in o.items() if k.endswith("TableName")}
    data = PersonalDataStore(
        posts_table=o["PostsTableName"], usage_table=o["UsageTableName"], idempotency_table=o["IdempotencyTableName"],
        hashtags_table=o["HashtagsTableName"], webhook_events_table=o["WebhookEventsTableName"],
        invites_table=o["InvitesTableName"], media_bucket=o["MediaBucketName"], s3=dep.client("s3"),
        table=lambda name: dep.table(names[name]),
    )

    def subject_key() -> str:
        return str(dep.client("secretsmanager").get_secret_value(SecretId=o["AppSecretArn"])["SecretString"])

    return deauthorize.Deps(
        accounts=AccountRepository(o["AccountsTableName"], table=dep.table("AccountsTableName")), data=data,
        deletions=_repo(dep), events=EventPublisher("default", client=dep.client("events")),
        subject_key=subject_key,
    )
