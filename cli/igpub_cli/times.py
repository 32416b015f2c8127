"""Times as people type them on the command line: ISO 8601 (``2026-12-01T09:00:00+01:00``), relative to
now (``+2h``, ``+30m``, ``+1d12h``, ``-7d``), ``now``, a date (``2026-12-01``, midnight UTC) or Unix seconds.

Relative times keep examples true forever (``igpub post ... --publish-at +2h``), as ``date -d '+2 hours'``
or ``gh``'s ``--created >2026-...`` filters do; the result always carries a time zone (UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^(?P<sign>[+-])(?P<parts>(?:\d+(?:\.\d+)?[wdhms])+)$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_UNIT_S = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}

FORMATS_HELP = "ISO 8601 with a time zone (2026-12-01T09:00:00+01:00) or relative to now (+2h, +30m, +1d12h)"


class TimeFormatError(ValueError):
    """The value is none of the accepted forms; the message says which ones are."""


def relative(value: str) -> timedelta | None:
    """``+2h`` -> 2 hours, ``-7d`` -> minus 7 days (units w, d, h, m, s, combinable: ``+1h30m``); None when
    ``value`` is not of that form."""
    m = _RELATIVE.match(value.strip().lower())
    if m is None:
        return None
    seconds = sum(float(n) * _UNIT_S[unit] for n, unit in _PART.findall(m["parts"]))
    return timedelta(seconds=seconds if m["sign"] == "+" else -seconds)


def parse_when(value: str, *, now: datetime | None = None) -> datetime:
    """A moment from ISO 8601 (a naive one is returned naive: the request's rules refuse it with a reason),
    ``now``, or a relative time (``+2h``). Raises ``TimeFormatError``."""
    now = now or datetime.now(UTC)
    text = value.strip()
    if text.lower() == "now":
        return now.replace(microsecond=0)
    delta = relative(text)
    if delta is not None:
        return (now + delta).replace(microsecond=0)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise TimeFormatError(f"{value!r} is not a time: give {FORMATS_HELP}") from None


def publish_at_value(value: str | None, *, now: datetime | None = None) -> str | None:
    """The ``publish_at`` to put in a post request: ISO 8601 as given, a relative time turned into an absolute
    UTC time. Anything else is left as it is, for the request's validation to refuse with its own words."""
    if value is None:
        return None
    text = value.strip()
    if text.lower() == "now" or relative(text) is not None:
        return parse_when(text, now=now).isoformat()
    return value


def epoch_value(value: str | None, *, now: datetime | None = None) -> int | None:
    """Unix seconds from Unix seconds, ISO 8601 (a date or a time without zone means UTC), ``now`` or a
    relative time (``-7d``). Raises ``TimeFormatError``."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d{9,11}", text):
        return int(text)
    try:
        at = parse_when(text, now=now)
    except TimeFormatError:
        raise TimeFormatError(
            f"{value!r} is not a time: give Unix seconds, a date (2026-12-01), ISO 8601 or a relative time "
            "(-7d, -24h, now)") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return int(at.timestamp())
