"""How each Lambda function's dependencies are built from the settings: one place, typed.

Each ``functions/<name>/app.py`` calls its builder once per process (under ``functools.cache``) and
reads the fields by name. Builders only construct objects (no AWS call happens here).
"""

from __future__ import annotations

from dataclasses import dataclass

from igpub import engagement as engagement_
from igpub import refresh
from igpub.config import Settings
from igpub.hashtags import HashtagService, SearchBudget
from igpub.instagram.client import InstagramClient
from igpub.instagram.usage import StoreUsageGuard
from igpub.publishing import workflow
from igpub.repositories.accounts import AccountRepository
from igpub.repositories.events import EventPublisher
from igpub.repositories.hashtags import HashtagRepository
from igpub.repositories.idempotency import PublishGuard
from igpub.repositories.media import MediaStore
from igpub.repositories.posts import PostRepository
from igpub.repositories.states import StateRepository
from igpub.repositories.tokens import TokenCipher
from igpub.repositories.usage import DynamoUsageStore
from igpub.repositories.webhooks import WebhookEventRepository


def instagram_client(settings: Settings) -> InstagramClient:
    """The Graph API client, its call budget kept in the usage table (shared by every function)."""
    return InstagramClient(
        settings, usage=StoreUsageGuard.from_settings(DynamoUsageStore(settings.usage_table), settings)
    )


@dataclass(frozen=True)
class Publisher:
    """The publish state machine's tasks (functions/publisher)."""

    deps: workflow.Deps
    guard: PublishGuard  # the handler registers each invocation's Lambda context with it


def publisher(settings: Settings) -> Publisher:
    guard = PublishGuard(settings.idempotency_table)
    deps = workflow.Deps(
        settings=settings,
        posts=PostRepository(settings.posts_table),
        accounts=AccountRepository(settings.accounts_table),
        cipher=TokenCipher(settings.kms_key_id),
        client=instagram_client(settings),
        media=MediaStore(settings.media_bucket),
        publish_guard=guard,
        hashtags=HashtagService(settings, HashtagRepository(settings.hashtags_table)),
    )
    return Publisher(deps=deps, guard=guard)


@dataclass(frozen=True)
class Hashtags:
    """Hashtag discovery and the search budget (functions/hashtags)."""

    settings: Settings
    repo: HashtagRepository
    budget: SearchBudget
    client: InstagramClient
    cipher: TokenCipher


def hashtags(settings: Settings) -> Hashtags:
    repo = HashtagRepository(settings.hashtags_table)
    return Hashtags(
        settings=settings,
        repo=repo,
        budget=SearchBudget.from_settings(repo, settings),
        client=instagram_client(settings),
        cipher=TokenCipher(settings.kms_key_id),
    )


@dataclass(frozen=True)
class OAuth:
    """The connect routes of both logins (functions/oauth)."""

    settings: Settings
    states: StateRepository
    accounts: AccountRepository
    hashtags: HashtagRepository  # Facebook Login stores its Page connections here
    cipher: TokenCipher
    client: InstagramClient


def oauth(settings: Settings) -> OAuth:
    return OAuth(
        settings=settings,
        states=StateRepository(settings.states_table),
        accounts=AccountRepository(settings.accounts_table),
        hashtags=HashtagRepository(settings.hashtags_table),
        cipher=TokenCipher(settings.kms_key_id),
        client=instagram_client(settings),
    )


def refresher(settings: Settings) -> refresh.RefreshDeps:
    """The token refresher (functions/refresher)."""
    return refresh.RefreshDeps(
        settings=settings,
        accounts=AccountRepository(settings.accounts_table),
        cipher=TokenCipher(settings.kms_key_id),
        client=instagram_client(settings),
        events=EventPublisher(settings.event_bus_name),
    )


def engagement(settings: Settings) -> engagement_.Deps:
    """Comments and insights actions, and the scheduled insights collection (functions/engagement)."""
    return engagement_.Deps(
        client=instagram_client(settings),
        accounts=AccountRepository(settings.accounts_table),
        posts=PostRepository(settings.posts_table),
        cipher=TokenCipher(settings.kms_key_id),
    )


@dataclass(frozen=True)
class Webhooks:
    """The Instagram webhook endpoint (functions/webhooks): no Instagram client, no token."""

    settings: Settings
    store: WebhookEventRepository
    accounts: AccountRepository
    events: EventPublisher


def webhooks(settings: Settings) -> Webhooks:
    return Webhooks(
        settings=settings,
        store=WebhookEventRepository(settings.webhook_events_table),
        accounts=AccountRepository(settings.accounts_table),
        events=EventPublisher(settings.event_bus_name),
    )
