"""How each Lambda function's dependencies are built from the settings: one place, typed.

Each ``functions/<name>/app.py`` calls its builder once per process (under ``functools.cache``) and
reads the fields by name. Builders only construct objects (no AWS call happens here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # each builder imports what its function needs: one function's cold start does not
    # pay for another's modules (the refresher never imports the publish workflow, OAuth never the
    # idempotency utility ...)
    from igpub.accounts import refresh
    from igpub.config import Settings
    from igpub.engage import actions as engagement_
    from igpub.hashtags import SearchBudget
    from igpub.instagram.client import InstagramClient
    from igpub.publishing import workflow
    from igpub.publishing.request import PostRequest
    from igpub.repositories.accounts import AccountRepository
    from igpub.repositories.deletions import DeletionRepository
    from igpub.repositories.events import EventPublisher
    from igpub.repositories.hashtags import HashtagRepository
    from igpub.repositories.idempotency import PublishGuard
    from igpub.repositories.invites import InviteRepository
    from igpub.repositories.personal_data import PersonalDataStore
    from igpub.repositories.states import StateRepository
    from igpub.repositories.tokens import TokenCipher
    from igpub.repositories.webhooks import WebhookEventRepository

def instagram_client(settings: Settings) -> InstagramClient:
    """The Graph API client, its call budget kept in the usage table (shared by every function)."""
    from igpub.instagram.client import InstagramClient
    from igpub.instagram.usage import StoreUsageGuard
    from igpub.repositories.usage import DynamoUsageStore

    return InstagramClient(
        settings, usage=StoreUsageGuard.from_settings(DynamoUsageStore(settings.usage_table), settings)
    )


@dataclass(frozen=True)
class Publisher:
    """The publish state machine's tasks (functions/publisher)."""

    deps: workflow.Deps
    guard: PublishGuard  # the handler registers each invocation's Lambda context with it


class LazyHashtagCaptions:
    """The publisher's hashtag service, built on the first post that names a pool: a post without one (and
    every step but prepare) never imports the hashtag modules."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._service: workflow.HashtagCaptions | None = None

    def caption_for(self, req: PostRequest, *, post_id: str) -> tuple[str, list[str]]:
        if self._service is None:
            from igpub.hashtags import HashtagService
            from igpub.repositories.hashtags import HashtagRepository

            self._service = HashtagService(self._settings, HashtagRepository(self._settings.hashtags_table))
        return self._service.caption_for(req, post_id=post_id)


def publisher(settings: Settings) -> Publisher:
    from igpub.publishing import workflow
    from igpub.repositories.accounts import AccountRepository
    from igpub.repositories.idempotency import PublishGuard
    from igpub.repositories.media import MediaStore
    from igpub.repositories.posts import PostRepository
    from igpub.repositories.tokens import TokenCipher

    guard = PublishGuard(settings.idempotency_table)
    deps = workflow.Deps(
        settings=settings,
        posts=PostRepository(settings.posts_table),
        accounts=AccountRepository(settings.accounts_table),
        cipher=TokenCipher(settings.kms_key_id),
        client=instagram_client(settings),
        media=MediaStore(settings.media_bucket),
        publish_guard=guard,
        hashtags=LazyHashtagCaptions(settings),
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
    from igpub.hashtags import SearchBudget
    from igpub.repositories.hashtags import HashtagRepository
    from igpub.repositories.tokens import TokenCipher

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
    invites: InviteRepository  # connect invites: read and spent here, created by the operator


def oauth(settings: Settings) -> OAuth:
    from igpub.repositories.accounts import AccountRepository
    from igpub.repositories.hashtags import HashtagRepository
    from igpub.repositories.invites import InviteRepository
    from igpub.repositories.states import StateRepository
    from igpub.repositories.tokens import TokenCipher

    return OAuth(
        settings=settings,
        states=StateRepository(settings.states_table),
        accounts=AccountRepository(settings.accounts_table),
        hashtags=HashtagRepository(settings.hashtags_table),
        cipher=TokenCipher(settings.kms_key_id),
        client=instagram_client(settings),
        invites=InviteRepository(settings.invites_table),
    )


def refresher(settings: Settings) -> refresh.RefreshDeps:
    """The token refresher (functions/refresher)."""
    from igpub.accounts import refresh
    from igpub.repositories.accounts import AccountRepository
    from igpub.repositories.events import EventPublisher
    from igpub.repositories.tokens import TokenCipher

    return refresh.RefreshDeps(
        settings=settings,
        accounts=AccountRepository(settings.accounts_table),
        cipher=TokenCipher(settings.kms_key_id),
        client=instagram_client(settings),
        events=EventPublisher(settings.event_bus_name),
    )


def engagement(settings: Settings) -> engagement_.Deps:
    """Comments and insights actions, and the scheduled insights collection (functions/engagement)."""
    from igpub.engage import actions as engagement_
    from igpub.repositories.accounts import AccountRepository
    from igpub.repositories.posts import PostRepository
    from igpub.repositories.tokens import TokenCipher

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
    from igpub.repositories.accounts import AccountRepository
    from igpub.repositories.events import EventPublisher
    from igpub.repositories.webhooks import WebhookEventRepository

    return Webhooks(
        settings=settings,
        store=WebhookEventRepository(settings.webhook_events_table),
        accounts=AccountRepository(settings.accounts_table),
        events=EventPublisher(settings.event_bus_name),
    )


@dataclass(frozen=True)
class MetaCallbacks:
    """Meta's deauthorize and data deletion callbacks and the status page (functions/meta_callbacks)."""

    settings: Settings
    accounts: AccountRepository
    data: PersonalDataStore
    deletions: DeletionRepository
    events: EventPublisher


def personal_data(settings: Settings) -> PersonalDataStore:
    from igpub.repositories.personal_data import PersonalDataStore

    return PersonalDataStore(
        posts_table=settings.posts_table, usage_table=settings.usage_table,
        idempotency_table=settings.idempotency_table, hashtags_table=settings.hashtags_table,
        webhook_events_table=settings.webhook_events_table, invites_table=settings.invites_table,
        media_bucket=settings.media_bucket,
    )


def meta_callbacks(settings: Settings) -> MetaCallbacks:
    from igpub.repositories.accounts import AccountRepository
    from igpub.repositories.deletions import DeletionRepository
    from igpub.repositories.events import EventPublisher

    return MetaCallbacks(
        settings=settings,
        accounts=AccountRepository(settings.accounts_table),
        data=personal_data(settings),
        deletions=DeletionRepository(settings.deletions_table),
        events=EventPublisher(settings.event_bus_name),
    )
