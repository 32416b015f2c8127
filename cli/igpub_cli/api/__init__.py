"""igpub for programs: submit a post, follow it to its end, list accounts and posts.

from igpub_cli.api import Deployment, publish_post
record = publish_post(Deployment.load(), {"account_id": "...", "kind": "image",
                                          "media": [{"url": "https://..."}], "caption": "hi"})
print(record.status, record.permalink)

The functions live in one module per part (``accounts``: accounts and invites, ``checks``: what is refused
before anything starts, ``posts``: upload, submit, watch, publish many, ``schedule``: cancel and
reschedule, ``tokens``: refresh, ``engagement``: comments and insights, ``uploads``: local files
checked before any upload), all importable from here.
"""

from __future__ import annotations

from igpub.publishing.errors import RequestInvalid
from igpub.repositories.posts import PostRecord
from igpub_cli.api.accounts import CreatedInvite, create_invite, list_accounts, only_active_account
from igpub_cli.api.alarms import list_alarms
from igpub_cli.api.checks import (
    PAST_TOLERANCE_MIN,
    check_files,
    check_requests,
    load_requests,
    preflight,
    read_request_file,
)
from igpub_cli.api.deps import Submission, accounts_repo, execution_arn, posts_repo
from igpub_cli.api.engagement import (
    account_insights,
    collect_due_insights,
    comment_on,
    delete_comment,
    hide_comment,
    list_comments,
    post_insights,
    reply_comment,
    set_comments_enabled,
    unhide_comment,
)
from igpub_cli.api.posts import (
    list_posts,
    publish_many,
    publish_post,
    record_dict,
    submit_post,
    upload_media,
    watch_post,
)
from igpub_cli.api.schedule import RescheduleFailed, cancel_post, reschedule_post
from igpub_cli.api.tokens import refresh_tokens
from igpub_cli.api.uploads import check_before_upload, media_file_problems, plan_file, upload_key
from igpub_cli.deployment import Deployment

__all__ = [
    "PAST_TOLERANCE_MIN",
    "CreatedInvite",
    "Deployment",
    "PostRecord",
    "RequestInvalid",
    "RescheduleFailed",
    "Submission",
    "account_insights",
    "accounts_repo",
    "cancel_post",
    "check_before_upload",
    "check_files",
    "check_requests",
    "collect_due_insights",
    "comment_on",
    "create_invite",
    "delete_comment",
    "execution_arn",
    "hide_comment",
    "list_accounts",
    "list_alarms",
    "list_comments",
    "list_posts",
    "load_requests",
    "media_file_problems",
    "only_active_account",
    "plan_file",
    "post_insights",
    "posts_repo",
    "preflight",
    "publish_many",
    "publish_post",
    "read_request_file",
    "record_dict",
    "refresh_tokens",
    "reply_comment",
    "reschedule_post",
    "set_comments_enabled",
    "submit_post",
    "unhide_comment",
    "upload_key",
    "upload_media",
    "watch_post",
]
