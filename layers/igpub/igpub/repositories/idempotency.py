"""Powertools Idempotency around the publish call: one caller at a time per post and container,
and a finished result is answered from the record. Outcomes that must not be remembered are raised
by the attempt (any exception deletes the in-progress record), so the step can run again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from igpub.repositories import aws

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

T = TypeVar("T")


class PublishInProgress(Exception):
    """Another invocation is running the attempt with this key right now."""


class PublishGuard:
    """Built on the first publish attempt: only the publish step imports Powertools Idempotency, so a
    cold start of prepare, create or check does not."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.config: IdempotencyConfig | None = None
        self._run: Callable[..., Any] | None = None
        self._context: Any = None

    def _build(self) -> Callable[..., Any]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        self.config = IdempotencyConfig(expires_after_seconds=30 * 86400)
        if self._context is not None:
            self.config.register_lambda_context(self._context)
        # the process's counted session (igpub.repositories.aws), Powertools' default client settings
        persistence = DynamoDBPersistenceLayer(table_name=self.table_name, boto3_session=aws.session())

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="key", persistence_store=persistence, config=self.config
        )
        def _run(*, key: str, attempt: Callable[[], Any]) -> Any:
            return attempt()

        self._run = cast(Callable[..., Any], _run)
        return self._run

    def register_context(self, context: Any) -> None:
        self._context = context
        if self.config is not None:
            self.config.register_lambda_context(context)

    def __call__(self, attempt: Callable[[], T], key: str) -> T:
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        run = self._run or self._build()
        try:
            return cast(T, run(key=key, attempt=attempt))
        except IdempotencyAlreadyInProgressError:
            raise PublishInProgress(key) from None
