"""In-memory state of the fake: users, tokens, codes, containers, media, hashtags, calls."""

from __future__ import annotations

import hashlib
import itertools
import random
import secrets
import string
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

_ALNUM = string.ascii_letters + string.digits
_SHORTCODE_ALPHABET = string.ascii_letters + string.digits + "_-"


class FakeClock:
    """Real time plus an offset that tests move with the control API."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def set(self, now: float) -> None:
        self.offset = now - time.time()

    def reset(self) -> None:
        self.offset = 0.0


def digits_from(text: str, n: int) -> str:
    h = int.from_bytes(hashlib.sha256(text.encode()).digest()[:12], "big")
    return str(h % (10**n)).zfill(n)


def random_token(prefix: str, length: int = 180) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def random_code() -> str:
    return "AQ" + "".join(secrets.choice(_ALNUM + "-_") for _ in range(160))


def shortcode_for(media_id: str) -> str:
    rng = random.Random(media_id)
    return "".join(rng.choice(_SHORTCODE_ALPHABET) for _ in range(11))


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(ts))


# Process-wide id counters: never reset, so ids from an earlier test never collide with new ones.
_process_base = random.randrange(10**9, 10**10)
_counters: dict[str, itertools.count[int]] = {}
_counter_lock = threading.Lock()


def next_id(prefix: str) -> str:
    with _counter_lock:
        counter = _counters.setdefault(prefix, itertools.count(1))
        n = next(counter)
    body = str(_process_base * 100 + n)
    return prefix + body[-(17 - len(prefix)) :].zfill(17 - len(prefix))


@dataclass
class IGUser:
    username: str
    account_type: str
    id: str  # app-scoped id
    user_id: str  # IG professional account id (<IG_ID>)
    name: str
    fb_user_id: str
    fb_user_name: str
    page_id: str
    page_name: str
    subscribed_fields: list[str] = field(default_factory=list)
    # The IG-scoped id the account has in its own webhooks (from.self_ig_scoped_id).
    igsid: str = ""
    private: bool = False
    followers: int = 1234

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "username": self.username,
            "account_type": self.account_type,
            "name": self.name,
            "fb_user_id": self.fb_user_id,
            "page_id": self.page_id,
            "page_name": self.page_name,
        }


def make_user(username: str, account_type: str = "Business", name: str | None = None) -> IGUser:
    return IGUser(
        username=username,
        account_type=account_type,
        id="2" + digits_from("asid:" + username, 16),
        user_id="17841" + digits_from("igid:" + username, 12),
        name=name or username.replace("_", " ").title(),
        fb_user_id="10" + digits_from("fbuser:" + username, 15),
        fb_user_name=(name or username.replace("_", " ").title()) + " (Facebook)",
        page_id="1" + digits_from("page:" + username, 14),
        page_name=f"{username} Page",
        igsid="6" + digits_from("igsid:" + username, 15),
    )


@dataclass
class Token:
    token: str
    kind: str  # ig_short | ig_long | fb_short | fb_long | fb_page
    user_id: str  # IG user id (IG tokens) or the IG account linked to the FB user/page
    issued_at: float
    expires_at: float | None
    scopes: list[str]
    app_id: str
    revoked_subcode: int | None = None
    revoked_at: float | None = None
    refreshed_from: str | None = None

    def public(self, now: float) -> dict[str, Any]:
        return {
            "token": self.token,
            "kind": self.kind,
            "user_id": self.user_id,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "age_seconds": now - self.issued_at,
            "expired": self.expires_at is not None and now >= self.expires_at,
            "revoked_subcode": self.revoked_subcode,
            "scopes": self.scopes,
            "valid": self.revoked_subcode is None and (self.expires_at is None or now < self.expires_at),
        }


@dataclass
class AuthCode:
    code: str
    kind: str  # ig | fb
    client_id: str
    redirect_uri: str
    user_id: str
    scopes: list[str]
    expires_at: float
    used: bool = False


@dataclass
class Container:
    id: str
    user_id: str
    media_type: str  # IMAGE | VIDEO | REELS | STORIES | CAROUSEL
    is_carousel_item: bool
    created_at: float
    ready_at: float
    params: dict[str, Any]
    is_video: bool = False
    children: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None  # {"status": "...", "code":..., "subcode":...}
    awaiting_upload: bool = False
    media_ids: list[str] = field(default_factory=list)
    published_at: float | None = None
    parent_id: str | None = None


@dataclass
class Media:
    id: str
    user_id: str
    container_id: str
    media_type: str  # IMAGE | VIDEO | CAROUSEL_ALBUM
    media_product_type: str  # FEED | REELS | STORY
    timestamp: float
    caption: str | None
    shortcode: str
    media_url: str | None
    children: list[str] = field(default_factory=list)
    is_carousel_child: bool = False
    comment_enabled: bool = True
    share_to_feed: bool | None = None
    deleted: bool = False
    # Insights overrides set through the control API (metric -> value); else derived values.
    insights: dict[str, int] = field(default_factory=dict)
    before_conversion: bool = False  # answers 100/2108006 on insights
    shared_to_facebook: bool = False


@dataclass
class Comment:
    id: str
    media_id: str
    author_id: str  # the account's IG id for its own comments, else the commenter's IGSID
    username: str
    text: str
    timestamp: float
    by_owner: bool  # written by the media owner (igpub's own comments)
    parent_id: str | None = None
    hidden: bool = False
    deleted: bool = False
    like_count: int = 0


@dataclass
class Delivery:
    """One webhook notification the fake sends (and retries) to the app's callback URL."""

    id: str
    body: bytes
    signature: str  # "valid" | "forged" | "missing"
    next_at: float
    attempts: list[dict[str, Any]] = field(default_factory=list)
    state: str = "pending"  # pending | delivered | dropped
    redeliveries_left: int = 0


@dataclass
class CallRecord:
    seq: int
    host: str
    method: str
    path: str
    route: str
    params: dict[str, Any]
    status: int | str | None
    time: float
    fault: str | None = None


class Store:
    """All mutable state; guarded by ``lock`` (an RLock) held by the caller."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.hashtag_names: dict[str, str] = {}  # id -> name (ids are global and static: kept on reset)
        self.clear()

    def clear(self) -> None:
        self.users: dict[str, IGUser] = {}  # by IG user_id
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, AuthCode] = {}
        self.containers: dict[str, Container] = {}
        self.media: dict[str, Media] = {}
        # Per IG user: hashtag name -> first counted query time.
        self.hashtag_queries: dict[str, dict[str, float]] = {}
        self.calls: list[CallRecord] = []
        self.call_seq = itertools.count(1)
        self.usage: dict[str, deque[float]] = {}  # IG user id -> call times
        self.comments: dict[str, Comment] = {}
        self.comment_writes: dict[str, deque[float]] = {}  # IG user id -> comment write times
        self.deliveries: list[Delivery] = []

    def user_by_name(self, username: str) -> IGUser | None:
        for user in self.users.values():
            if user.username == username:
                return user
        return None

    def find_user(self, key: str) -> IGUser | None:
        """By IG user_id, app-scoped id, FB user id, page id or username."""
        if key in self.users:
            return self.users[key]
        for user in self.users.values():
            if key in (user.id, user.username, user.fb_user_id, user.page_id):
                return user
        return None

    def add_user(self, user: IGUser) -> IGUser:
        existing = self.users.get(user.user_id)
        if existing is not None:
            return existing
        self.users[user.user_id] = user
        return user


def hashtag_id(name: str) -> str:
    return "17843" + digits_from("hashtag:" + name, 12)
