"""Powertools Idempotency around the publish call: one caller at a time per post and container,
and a finished result is answered from the record. Outcomes that must not be remembered are raised
by the attempt (any exception deletes the in-progress record), so the step can run again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from igpub.repositories import aws

T = TypeVar("T")


class PublishInProgress(Exception):
    """Another invocation is running the attempt with this key right now."""


class PublishGuard:
    def __init__(self, table_name: str) -> None:
        self.config = IdempotencyConfig(expires_after_seconds=30 * 86400)
        # the process's counted session (igpub.repositories.aws), Powertools' default client settings
        persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_session=aws.session())

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="key", persistence_store=persistence, config=self.config
        )
        def _run(*, key: str, attempt: Callable[[], Any]) -> Any:
            return attempt()

        self._run = _run

    def register_context(self, context: Any) -> None:
        self.config.register_lambda_context(context)

    def __call__(self, attempt: Callable[[], T], key: str) -> T:
        try:
            return cast(T, self._run(key=key, attempt=attempt))
        except IdempotencyAlreadyInProgressError:
            raise PublishInProgress(key) from None
