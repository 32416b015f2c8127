"""The publishing workflow's tasks, one function per Step Functions task (functions/publisher calls
them by the ``step`` the state machine passes):

* ``prepare`` (igpub.publishing.claiming): validate, claim the post id, check the account;
* ``create`` / ``check`` (igpub.publishing.polling): the containers and their processing;
* ``publish`` (igpub.publishing.publish): media_publish, never twice;
* ``fail`` (igpub.publishing.failures): record why a post failed.

Every task returns an Outcome (igpub.publishing.outcome: the contract with the state machine's Choice
and Wait states); expected problems never raise. Per-kind rules live in igpub.publishing.kinds.
"""

from __future__ import annotations

from igpub.publishing.claiming import prepare
from igpub.publishing.deps import Deps, HashtagCaptions, PublishGuard
from igpub.publishing.failures import fail
from igpub.publishing.outcome import Outcome, Status
from igpub.publishing.polling import check, create, item_params
from igpub.publishing.publish import NotFinal, publish

__all__ = [
    "Deps",
    "HashtagCaptions",
    "NotFinal",
    "Outcome",
    "PublishGuard",
    "Status",
    "check",
    "create",
    "fail",
    "item_params",
    "prepare",
    "publish",
]
