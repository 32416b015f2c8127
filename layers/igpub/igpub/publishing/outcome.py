"""The contract between the publish state machine and its tasks.

Every task returns an :class:`Outcome`: its ``status`` is what the Choice states of
``statemachine/publish.asl.json`` compare (``$.outcome.status``), ``wait_s`` is what the Wait states
read, ``reason``/``code`` say why a post failed in words a person can act on. Expected problems are
data, never exceptions: the emulator reports every Lambda error alike, and data is clearer anyway.

``STEP_STATUSES`` lists what each task can answer; ``tests/unit/publishing/test_outcome_contract.py``
checks it against the state machine (every status a task returns is routed, every status a Choice
compares exists here), so the Python side and the JSON side cannot drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, Required, TypedDict


class Status(StrEnum):
    # Prepare
    READY = "ready"  # valid and claimed: create the containers now
    SCHEDULED = "scheduled"  # valid and claimed: wait until publish_at first
    DUPLICATE = "duplicate"  # another execution owns this post id (any step: this execution ends, changing nothing)
    PREPARE_MEDIA = "prepare_media"  # media need preparing (igpub.media): PrepareMedia, which then answers `then`
    # CreateContainers / CheckContainers
    FINISHED = "finished"  # every container is FINISHED: publish
    IN_PROGRESS = "in_progress"  # Instagram is still processing: poll again after wait_s
    RATE_LIMITED = "rate_limited"  # wait_s, then the same step again
    RETRY_CREATE = "retry_create"  # creating a container hit a limit or a transient error: create again
    CANCELLED = "cancelled"  # igpub cancel marked the post cancelled before this claimed it (or as abandoned)
    RESCHEDULED = "rescheduled"  # igpub reschedule handed the post to another execution before this claimed it
    # Publish
    PUBLISHED = "published"
    PUBLISHED_COMMENT = "published_comment"  # published; its first comment is next (FirstComment)
    PUBLISH_RATE_LIMITED = "publish_rate_limited"  # the inline publish hit a rate limit: wait_s, then Publish
    NOT_READY = "not_ready"  # media_publish says the container is not ready: poll it again
    QUOTA_FULL = "quota_full"  # the 24 h publishing quota is used up: wait for a slot
    VERIFY = "verify"  # an earlier attempt's fate is unknown (or one runs now): publish again after wait_s
    RECREATE = "recreate"  # the container expired (or is missing): create new ones
    # FirstComment (after Publish; a first comment never fails the post)
    COMMENTED = "commented"  # done: first_comment_status says posted, failed (with a reason) or none
    RETRY_COMMENT = "retry_comment"  # throttled or transient: comment step again after wait_s
    # any step
    FAILED = "failed"  # reason/code say why; the Choice states' Default records it


Step = Literal["prepare", "media", "create", "check", "publish", "first_comment", "fail"]

# The create and check tasks publish in the same invocation once every container is FINISHED (the publisher's
# handler, functions/publisher/app.py): they can answer what the publish step answers.
# (its RATE_LIMITED comes back as PUBLISH_RATE_LIMITED: the check's own RATE_LIMITED means "check again")
INLINE_PUBLISH = frozenset({Status.PUBLISHED, Status.PUBLISHED_COMMENT, Status.NOT_READY, Status.QUOTA_FULL,
                            Status.VERIFY, Status.RECREATE, Status.DUPLICATE, Status.CANCELLED,
                            Status.PUBLISH_RATE_LIMITED})

# What each task can answer. FAILED always goes to the Choice's Default (RecordFailure).
STEP_STATUSES: dict[Step, frozenset[Status]] = {
    "prepare": frozenset({Status.READY, Status.SCHEDULED, Status.DUPLICATE, Status.PREPARE_MEDIA, Status.FAILED}),
    "media": frozenset({Status.READY, Status.SCHEDULED, Status.FAILED}),
    "create": frozenset(
        {Status.FINISHED, Status.IN_PROGRESS, Status.RATE_LIMITED, Status.RETRY_CREATE, Status.CANCELLED,
         Status.RESCHEDULED, Status.FAILED}
    ) | INLINE_PUBLISH,
    "check": frozenset(
        {Status.FINISHED, Status.IN_PROGRESS, Status.RATE_LIMITED, Status.DUPLICATE, Status.CANCELLED, Status.FAILED}
    ) | INLINE_PUBLISH,
    "publish": frozenset(
        {
            Status.PUBLISHED,
            Status.PUBLISHED_COMMENT,
            Status.NOT_READY,
            Status.QUOTA_FULL,
            Status.RATE_LIMITED,
            Status.VERIFY,
            Status.RECREATE,
            Status.DUPLICATE,
            Status.CANCELLED,
            Status.FAILED,
        }
    ),
    "first_comment": frozenset({Status.COMMENTED, Status.RETRY_COMMENT}),
    # PUBLISHED, CANCELLED, DUPLICATE: there was nothing to fail (published, cancelled, or another
    # execution's post): the execution ends without an igpub.PostFailed event
    "fail": frozenset({Status.FAILED, Status.PUBLISHED, Status.CANCELLED, Status.DUPLICATE}),
}


class Outcome(TypedDict, total=False):
    """A task's result (a plain dict at run time, so Step Functions gets JSON)."""

    status: Required[Status]
    wait_s: int  # the Wait states' SecondsPath
    publish_at: str  # SCHEDULED: the Wait state's TimestampPath (ISO 8601, UTC)
    reason: str  # FAILED (and DUPLICATE): what happened and what to do
    code: str  # FAILED: a short machine-readable cause (invalid, needs_reauth, expired, ...)
    checks: int  # status checks so far
    media_id: str | None  # PUBLISHED
    permalink: str | None  # PUBLISHED
    account_id: str | None  # PUBLISHED and the fail step's FAILED: the igpub.PostPublished/PostFailed events read it
    kind: str | None  # likewise
    may_be_live: bool  # the fail step's FAILED: a publish was sent and never confirmed (the reason says how to check)
    quota_total: int | None  # QUOTA_FULL: the account's quota, when Instagram said
    first_comment_status: str  # COMMENTED: posted | failed | none
    first_comment_id: str | None  # COMMENTED (posted)
    then: dict[str, object]  # PREPARE_MEDIA: what PrepareMedia answers once the media are prepared (READY/SCHEDULED)


def failed(reason: str, code: str = "failed") -> Outcome:
    return {"status": Status.FAILED, "reason": reason, "code": code}


def wait(status: Status, seconds: float) -> Outcome:
    """An outcome that a Wait state holds for ``seconds`` (at least 1) before the next step."""
    return {"status": status, "wait_s": max(1, round(seconds))}
