"""Powertools Idempotency around the publish call: one caller at a time per post and container,
and a finished result is answered from the record. Non-final outcomes (raised as NotFinal) are not
remembered, so the step can run again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from igpub.repositories import aws

Outcome = dict[str, Any]


class PublishGuard:
    def __init__(self, table_name: str, *, retry_wait_s: int = 5) -> None:
        self.config = IdempotencyConfig(expires_after_seconds=30 * 86400)
        # the process's counted session (igpub.repositories.aws), Powertools' default client settings
        persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_session=aws.session())
        self._retry_wait_s = retry_wait_s

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="key", persistence_store=persistence, config=self.config
        )
        def _run(*, key: str, attempt: Callable[[], Outcome]) -> Outcome:
            return attempt()

        self._run = _run

    def register_context(self, context: Any) -> None:
        self.config.register_lambda_context(context)

    def __call__(self, attempt: Callable[[], Outcome], key: str) -> Outcome:
        try:
            result: Outcome = self._run(key=key, attempt=attempt)
            return result
        except IdempotencyAlreadyInProgressError:
            return {"status": "verify", "wait_s": self._retry_wait_s}
