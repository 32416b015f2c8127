"""The one place that sets up logging and metrics (Powertools).

Correlation keys: ``account_id`` and ``post_id`` (``logger.append_keys``). Never log a token, an
OAuth code or a secret: the formatter below also masks anything that looks like one, as a guard.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord

SERVICE = "igpub"

# Instagram (IGAA...), Facebook (EAA...) tokens, and long opaque values after secret-ish keys.
_SECRET_PATTERNS = [
    re.compile(r"\b(IGAA|IGQV|EAA)[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)((?:access_token|client_secret|code|app_secret|token)[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,}]{6,}"),
]


def redact(text: str) -> str:
    """Mask token-like substrings (a last line of defence; code should not log them at all)."""
    text = _SECRET_PATTERNS[0].sub(r"\1***", text)
    return _SECRET_PATTERNS[1].sub(r"\1***", text)


class RedactingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any] | PowertoolsLogRecord) -> str:
        return redact(super().serialize(log))


logger = Logger(service=SERVICE, logger_formatter=RedactingFormatter())
metrics = Metrics(namespace="igpub", service=SERVICE)
