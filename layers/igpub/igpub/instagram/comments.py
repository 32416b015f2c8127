"""Comments on the account's media: read, create, reply, hide, delete, and comments on/off.

https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-media/comments
https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-comment
Writes are never retried here (a failed-looking create may have posted the comment): the caller
lists the comments before trying again. The create call never sends ``fields`` (Instagram then
posts the comment and answers an error, 20/1772107).
"""

from __future__ import annotations

from igpub.instagram.core import GraphCore, Retry
from igpub.instagram.errors import Operation
from igpub.instagram.models import Comment

COMMENT_FIELDS = "id,text,timestamp,username,from,user,hidden,like_count,parent_id"


class CommentsApi(GraphCore):
    """Comment moderation. Writes that create something are never retried here."""

    def list_comments(
        self, media_id: str, token: str, *, account_id: str, limit: int = 1000, fields: str = COMMENT_FIELDS,
        replies: bool = False,
    ) -> list[Comment]:
        """Top-level comments of a media, newest first, following the pages (50 per page) up to ``limit``."""
        if replies:
            fields = f"{fields},replies{{{fields}}}"
        items = self._edge(f"{media_id}/comments", token, {"fields": fields}, limit=limit, facebook=False,
                           account_id=account_id)
        return [self._model(Comment, item, "comments") for item in items]

    def list_replies(
        self, comment_id: str, token: str, *, account_id: str, limit: int = 1000, fields: str = COMMENT_FIELDS
    ) -> list[Comment]:
        items = self._edge(f"{comment_id}/replies", token, {"fields": fields}, limit=limit, facebook=False,
                           account_id=account_id)
        return [self._model(Comment, item, "replies") for item in items]

    def get_comment(self, comment_id: str, token: str, *, account_id: str, fields: str = COMMENT_FIELDS) -> Comment:
        body = self._graph("GET", comment_id, token, params={"fields": fields}, account_id=account_id)
        return self._model(Comment, body, "comment")

    def create_comment(self, media_id: str, token: str, message: str, *, account_id: str) -> str:
        """``POST /{media_id}/comments`` -> the comment id. Never retried."""
        body = self._graph("POST", f"{media_id}/comments", token, data={"message": message},
                           op=Operation.WRITE, retry=Retry.NEVER, account_id=account_id)
        return self._new_id(body, "comments")

    def reply_to_comment(self, comment_id: str, token: str, message: str, *, account_id: str) -> str:
        """``POST /{comment_id}/replies`` -> the reply's id. Never retried."""
        body = self._graph("POST", f"{comment_id}/replies", token, data={"message": message},
                           op=Operation.WRITE, retry=Retry.NEVER, account_id=account_id)
        return self._new_id(body, "replies")

    def hide_comment(self, comment_id: str, token: str, hide: bool = True, *, account_id: str) -> None:
        """``POST /{comment_id}?hide=true|false`` (a comment the account wrote stays visible)."""
        body = self._graph("POST", comment_id, token, data={"hide": "true" if hide else "false"},
                           op=Operation.WRITE, retry=Retry.READ, account_id=account_id)
        self._success(body, "hide")

    def delete_comment(self, comment_id: str, token: str, *, account_id: str) -> None:
        body = self._graph("DELETE", comment_id, token, op=Operation.WRITE, retry=Retry.READ, account_id=account_id)
        self._success(body, "delete comment")

    def set_comment_enabled(self, media_id: str, token: str, enabled: bool, *, account_id: str) -> None:
        """``POST /{media_id}?comment_enabled=true|false``: turn comments on or off on a media."""
        body = self._graph("POST", media_id, token, data={"comment_enabled": "true" if enabled else "false"},
                           op=Operation.WRITE, retry=Retry.READ, account_id=account_id)
        self._success(body, "comment_enabled")
