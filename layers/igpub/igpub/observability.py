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

# What a secret is, by name: the fields and query parameters that hold a token, an OAuth code, an app
# secret, a verify token or an invite (exact names, case-insensitive). Nothing else is masked by name: a
# Graph error's ``code``/``error_subcode``/``fbtrace_id``, a post's failure ``code`` and the
# ``x-app-usage`` figures are what explain a failure to an operator, and stay.
SECRET_NAMES = frozenset(
    {
        "access_token",
        "token",
        "long_lived_token",
        "short_lived_token",
        "refresh_token",
        "input_token",
        "client_secret",
        "app_secret",
        "appsecret_proof",
        "secret",
        "oauth_code",
        "authorization_code",
        "verify_token",
        "hub.verify_token",
        "invite",
        "invite_code",
        "password",
        "authorization",
        "x-hub-signature-256",
        "signature",
    }
)
# ``code`` is both the OAuth authorization code and a Graph error code / a post's failure code. It is a
# secret only when its value is not a machine code: an int, a number, or a short snake_case word is kept.
_MACHINE_CODE = re.compile(r"^(?:-?\d{1,12}|[a-z][a-z0-9_.]{0,39})$")
MASK = "***"

# Values that are secrets by their shape, wherever they appear: Instagram (IGAA..., IGQV...) and
# Facebook (EAA...) tokens, and OAuth authorization codes (AQ + a long opaque string; Meta's codes are
# several hundred characters).
_TOKEN_SHAPES = re.compile(r"\b(?:IGAA|IGQV|EAA)[A-Za-z0-9_\-]{8,}|\bAQ[A-Za-z0-9_\-]{60,}")
# name=value (query strings, form bodies, free text) and "name": "value" (JSON inside a message) for the
# secret names above, and for code= when its value is not a machine code.
_NAMES_RE = "|".join(re.escape(n) for n in sorted(SECRET_NAMES, key=len, reverse=True))
_NAMED_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9_])((?:{_NAMES_RE})[\"']?\s*[=:]\s*[\"']?)([^\s\"'&,}}]+)"
)
_CODE_VALUE = re.compile(r"(?<![A-Za-z0-9_])(code[\"']?\s*[=:]\s*[\"']?)([^\s\"'&,}]+)")


def _mask_code(m: re.Match[str]) -> str:
    return m.group(0) if _MACHINE_CODE.match(m.group(2)) else m.group(1) + MASK


def redact(text: str) -> str:
    """Mask secrets inside free text: token-shaped values, and the value after a secret name (``name=v``,
    ``"name": "v"``); ``code=`` only when its value is not a machine code."""
    text = _TOKEN_SHAPES.sub(MASK, text)
    text = _NAMED_VALUE.sub(lambda m: m.group(1) + MASK, text)
    return _CODE_VALUE.sub(_mask_code, text)


def redact_value(key: str | None, value: Any) -> Any:
    """A log field with its secrets masked: by the field's name (exact), then by the value's shape."""
    name = key.lower() if isinstance(key, str) else None
    if name in SECRET_NAMES and value not in (None, "", [], {}):
        return MASK
    if name == "code" and not (isinstance(value, (int, float, bool)) or value is None or (
        isinstance(value, str) and _MACHINE_CODE.match(value)
    )):
        return MASK
    if isinstance(value, dict):
        return {k: redact_value(k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact_value(None, v) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Masks secrets in each log record before it is written (a last line of defence: code should not log
    them at all). Fields are judged by their exact name and by their value's shape, never by a suffix."""

    def serialize(self, log: dict[str, Any] | PowertoolsLogRecord) -> str:
        if isinstance(log, dict):
            log = {k: redact_value(k, v) for k, v in log.items()}
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
