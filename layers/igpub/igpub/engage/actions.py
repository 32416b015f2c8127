"""On-demand engagement actions (the engagement function; the CLI's `igpub comments` and `igpub insights`).

Every action names the account; its token is decrypted here and never leaves the function. Every
Instagram call goes through the client's usage tracking like publishing does. Results are plain dicts
(comment ids, texts, usernames, metric values): never a token.

https://developers.facebook.com/documentation/instagram-platform/comment-moderation
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from igpub.engage import insights
from igpub.instagram.client import InstagramClient
from igpub.instagram.models import Comment
from igpub.publishing.captions import (
    CAPTION_MAX_CHARS,
    MAX_HASHTAGS,
    MAX_MENTIONS,
    caption_length,
    count_hashtags,
    count_mentions,
)
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.posts import PostRecord, PostRepository
from igpub.repositories.tokens import TokenCipher

Action = Literal[
    "collect_due", "post_insights", "account_insights", "comments", "comment", "reply", "hide", "unhide",
    "delete_comment", "comment_enabled",
]


class EngagementEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Action = "collect_due"
    account_id: str | None = Field(default=None, max_length=64)
    post_id: str | None = Field(default=None, max_length=128)
    media_id: str | None = Field(default=None, max_length=64)
    comment_id: str | None = Field(default=None, max_length=64)
    message: str | None = Field(default=None, max_length=20_000)  # the rules: text_problems
    enabled: bool | None = None
    refresh: bool = False
    metrics: list[str] = Field(default_factory=list, max_length=30)
    since: int | None = None
    until: int | None = None
    limit: int = Field(default=200, ge=1, le=1000)


def text_problems(text: str | None, what: str = "the comment") -> list[str]:
    """What Instagram would refuse in a comment or a reply igpub writes on a person's behalf, checked before any
    call with the caption's rules (Instagram documents no separate comment limits): not empty, at most 2,200
    characters, 30 hashtags and 20 @-mentions."""
    if not text or not text.strip():
        return [f"{what} is empty: give its text"]
    problems: list[str] = []
    length = caption_length(text)
    if length > CAPTION_MAX_CHARS:
        problems.append(f"{what} is {length} characters; the limit is {CAPTION_MAX_CHARS}")
    if (hashtags := count_hashtags(text)) > MAX_HASHTAGS:
        problems.append(f"{what} has {hashtags} hashtags; Instagram allows at most {MAX_HASHTAGS}")
    if (mentions := count_mentions(text)) > MAX_MENTIONS:
        problems.append(f"{what} has {mentions} @-mentions; Instagram allows at most {MAX_MENTIONS}")
    return problems


ACCOUNT_INSIGHTS_MAX_WINDOW_S = 30 * 86400  # "There cannot be more than 30 days (2592000 s) between since and until"


def window_problems(since: int | None, until: int | None, *, now: float) -> list[str]:
    """What Instagram refuses in an account-insights window, checked before the call: ``since`` not before
    ``until``, more than 30 days between them, ``until`` in the future.
    https://developers.facebook.com/docs/instagram-platform/api-reference/instagram-user/insights"""
    problems: list[str] = []
    end = until if until is not None else int(now)
    if until is not None and until > now + 60:
        problems.append("until is in the future")
    if since is not None and since >= end:
        problems.append("since is not before until")
    elif since is not None and end - since > ACCOUNT_INSIGHTS_MAX_WINDOW_S:
        problems.append(f"since to until spans {(end - since) / 86400:.1f} days; Instagram allows at most 30")
    return problems


# the account metrics igpub asks for with period=day and metric_type=total_value (Instagram's account insights
# table; profile_views and website_clicks are still accepted though gone from it): any other name answers
# (#100) "metric[0] must be one of the following values", and the demographic / follower_count / online_followers
# metrics need other parameters igpub does not send.
# https://developers.facebook.com/documentation/instagram-platform/api-reference/instagram-user/insights
DAY_TOTAL_METRICS = ("accounts_engaged", "comments", "follows_and_unfollows", "likes", "profile_links_taps",
                     "profile_views", "reach", "replies", "reposts", "saves", "shares", "total_interactions",
                     "views", "website_clicks")


def metric_problems(metrics: list[str]) -> list[str]:
    """Account metric names Instagram would refuse with the parameters igpub sends, checked before the call."""
    unknown = [m for m in metrics if m not in DAY_TOTAL_METRICS]
    if not unknown:
        return []
    return [f"unknown account metric(s): {', '.join(unknown)} (igpub reads: {', '.join(DAY_TOTAL_METRICS)})"]


def _check_text(text: str | None, what: str) -> str:
    problems = text_problems(text, what)
    if problems:
        raise Problem("invalid", "; ".join(problems))
    assert text is not None
    return text


class Problem(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Deps:
    client: InstagramClient
    accounts: AccountRepository
    posts: PostRepository
    cipher: TokenCipher

    def token(self, account_id: str) -> str | None:
        account = self.accounts.get(account_id)
        if account is None or account.status != "active" or not account.token_ciphertext:
            return None
        return self.cipher.decrypt(account.token_ciphertext, account_id=account_id)


def comment_dict(c: Comment, account_id: str) -> dict[str, Any]:
    return {
        "id": c.id,
        "text": c.text,
        "username": c.username or (c.author.username if c.author else None),
        "timestamp": c.timestamp.isoformat() if c.timestamp else None,
        "hidden": c.hidden,
        "like_count": c.like_count,
        "own": c.written_by(account_id),
        "replies": [comment_dict(r, account_id) for r in c.replies],
    }


def _post(deps: Deps, post_id: str) -> PostRecord:
    rec = deps.posts.get(post_id)
    if rec is None:
        raise Problem("not_found", f"no post {post_id}")
    return rec


def _target(deps: Deps, event: EngagementEvent) -> tuple[str, str]:
    """(account_id, media_id) from a post id, or from the account and media ids given."""
    if event.post_id:
        rec = _post(deps, event.post_id)
        if not rec.media_id:
            raise Problem("not_published", f"post {rec.post_id} is {rec.status}: it has no Instagram media yet")
        return rec.account_id, rec.media_id
    if event.account_id and event.media_id:
        return event.account_id, event.media_id
    raise Problem("invalid", "name a post (post_id) or an account and a media (account_id, media_id)")


def _token(deps: Deps, account_id: str) -> str:
    token = deps.token(account_id)
    if token is None:
        raise Problem("not_connected", f"account {account_id} is not connected (or needs to be reconnected)")
    return token


def _account(event: EngagementEvent) -> str:
    if not event.account_id:
        raise Problem("invalid", "account_id is required")
    return event.account_id


def run(deps: Deps, event: EngagementEvent, *, now: float) -> dict[str, Any]:
    """Perform one action; raises Problem for what the caller got wrong."""
    action = event.action
    if action == "collect_due":
        report = insights.collect_due(deps.posts, deps.client, deps.token, now=now, limit=event.limit)
        return {"status": "ok", **report.__dict__}
    if action == "post_insights":
        if not event.post_id:
            raise Problem("invalid", "post_id is required")
        rec = _post(deps, event.post_id)
        if event.refresh:
            account_id, media_id = _target(deps, event)
            collected = insights.collect_media(deps.client, media_id=media_id, kind=rec.kind,
                                               token=_token(deps, account_id), account_id=account_id,
                                               stage="latest")
            stored = dict(rec.insights or {})
            stored["latest"] = collected.as_item(now)
            rec = deps.posts.update(rec.post_id, now, insights=stored)
        return {"status": "ok", "post_id": rec.post_id, "kind": rec.kind, "media_id": rec.media_id,
                "published_at": rec.published_at, "insights": rec.insights,
                "next_collection_at": rec.insights_due_at}
    if action == "account_insights":
        account_id = _account(event)
        window = window_problems(event.since, event.until, now=now) + metric_problems(event.metrics)
        if window:
            raise Problem("invalid", "; ".join(window))
        metrics = event.metrics or list(insights.ACCOUNT_METRICS)
        items = deps.client.get_account_insights(account_id, _token(deps, account_id), metrics,
                                                 since=event.since, until=event.until)
        return {"status": "ok", "account_id": account_id,
                "metrics": {m.name: m.value for m in items}}
    if action == "comments":
        account_id, media_id = _target(deps, event)
        found = deps.client.list_comments(media_id, _token(deps, account_id), account_id=account_id,
                                          limit=event.limit, replies=True)
        return {"status": "ok", "media_id": media_id, "comments": [comment_dict(c, account_id) for c in found]}
    if action == "comment":
        message = _check_text(event.message, "the comment")
        account_id, media_id = _target(deps, event)
        new_id = deps.client.create_comment(media_id, _token(deps, account_id), message, account_id=account_id)
        return {"status": "ok", "comment_id": new_id}
    if action == "comment_enabled":
        account_id, media_id = _target(deps, event)
        if event.enabled is None:
            raise Problem("invalid", "enabled (true or false) is required")
        deps.client.set_comment_enabled(media_id, _token(deps, account_id), event.enabled, account_id=account_id)
        return {"status": "ok", "media_id": media_id, "comment_enabled": event.enabled}
    # actions on one comment
    account_id = _account(event)
    if not event.comment_id:
        raise Problem("invalid", "comment_id is required")
    token = _token(deps, account_id)
    if action == "reply":
        message = _check_text(event.message, "the reply")
        new_id = deps.client.reply_to_comment(event.comment_id, token, message, account_id=account_id)
        return {"status": "ok", "comment_id": new_id, "parent_id": event.comment_id}
    if action in ("hide", "unhide"):
        deps.client.hide_comment(event.comment_id, token, action == "hide", account_id=account_id)
        hidden = deps.client.get_comment(event.comment_id, token, account_id=account_id).hidden
        return {"status": "ok", "comment_id": event.comment_id, "hidden": hidden}
    deps.client.delete_comment(event.comment_id, token, account_id=account_id)
    return {"status": "ok", "comment_id": event.comment_id, "deleted": True}
