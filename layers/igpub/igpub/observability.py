"""The one place that sets up logging, metrics and tracing (Powertools).

Correlation keys: ``account_id`` and ``post_id`` (``logger.append_keys``). Never log a token, an
OAuth code or a secret: the formatter below also masks anything that looks like one, as a guard.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import PowertoolsLogRecord
from aws_lambda_powertools.metrics import MetricUnit, single_metric

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
# X-Ray (TracingMode Active): AWS SDK and Instagram calls become subsegments. Off where no X-Ray daemon
# listens (POWERTOOLS_TRACE_DISABLED, set by the template when TracingMode is PassThrough; outside Lambda).
tracer = Tracer(service=SERVICE, patch_modules=("botocore", "httpx"))


def count_total(name: str) -> None:
    """Emit one count of ``name`` with the service dimension only, next to the per-kind series: an alarm
    reads one series (template.yaml), without metric math."""
    with single_metric(
        name=name, unit=MetricUnit.Count, value=1, namespace="igpub", default_dimensions={"service": SERVICE}
    ):
        pass
