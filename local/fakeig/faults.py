"""Fault injection rules (``POST /_fake/faults``: a JSON list of rules; ``GET`` lists them with counts).

A rule picks calls by ``match`` (a regex searched in ``"METHOD /route"``, e.g. ``^POST /\\d+/media_publish$``)
and ``host``, limited by ``times``, ``skip`` and a seeded ``probability``; the first rule that fires decides.
What the caller then sees (``kind``), and whether Instagram acted on the call:

==============  ===============================================================  ==================
kind            answer                                                           Instagram acted?
==============  ===============================================================  ==================
drop_before     the connection is closed, no answer                              no
drop_after      the connection is closed, no answer                              yes
timeout         the answer comes after ``seconds`` (``hang``: then dropped)       yes, late
http_500        a Graph error envelope with HTTP 500 (``is_transient`` as given)  no; yes if after
http_503        an HTML 503 page                                                 no; yes if after
graph_error     a Graph error (``code``, ``subcode``, ``http_status``...)        no; yes if after
throttle        a throttling error (``code`` 4, 17, 32, 613 or 80002)            no; yes if after
transient_read  100/33 "Unsupported get request" on a GET                        no
empty           a 2xx without a body (``http_status`` if 2xx, else 200)          no; yes if after
==============  ===============================================================  ==================

``after: true`` (with http_500, http_503, graph_error, throttle, empty) runs the call first (the container
is created, the media published, the comment posted) and then answers as the kind says: the answers after
which a client cannot tell from the reply whether Instagram acted. Together with drop_after and timeout they
are the "dropped before or after Instagram acted, 2xx without a body, 5xx transient or not" of the publish
protocol's model test and of ``make chaos`` (bench/chaos.py).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultKind = Literal[
    "http_500",
    "http_503",
    "timeout",
    "graph_error",
    "transient_read",
    "throttle",
    "drop_after",
    "drop_before",
    "empty",
]

# kinds that can answer after the call acted (``after: true``): Instagram did the work, the answer hides it
AFTER_KINDS = ("http_500", "http_503", "graph_error", "throttle", "empty")


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Regex searched in "METHOD /route" (route = path without host prefix and version, no query),
    # e.g. "POST /\\d+/media_publish". Anchor it yourself with ^...$ if needed.
    match: str = ".*"
    host: str | None = None  # e.g. "graph.instagram.com", "graph.facebook.com", "cdn"
    kind: FaultKind
    times: int | None = None  # fire at most N times (None = unlimited)
    skip: int = 0  # let the first N matching calls through
    probability: float | None = None  # fire with this probability (seeded if seed is set)
    seed: int | None = None
    # timeout
    seconds: float = 30.0
    hang: bool = False  # timeout: after sleeping, drop the connection instead of answering
    # graph_error / throttle
    code: int | None = None
    subcode: int | None = None
    message: str | None = None
    is_transient: bool | None = None
    http_status: int = Field(default=400)  # graph_error / throttle; for "empty" a 2xx (200 when not 2xx)
    # act first (create the container, publish, post the comment...), then answer as the kind says: an
    # error, a 5xx or a 2xx without a body after Instagram acted. drop_after is the dropped connection.
    after: bool = False

    @model_validator(mode="after")
    def _after_only_where_it_means_something(self) -> FaultRule:
        if self.after and self.kind not in AFTER_KINDS:
            raise ValueError(f"after: true goes with {', '.join(AFTER_KINDS)} (drop_after is the dropped kind)")
        return self


@dataclass
class ActiveRule:
    rule: FaultRule
    pattern: re.Pattern[str]
    rng: random.Random
    seen: int = 0
    fired: int = 0

    def public(self) -> dict[str, Any]:
        return {**self.rule.model_dump(exclude_none=True), "seen": self.seen, "fired": self.fired}


@dataclass
class FaultSet:
    rules: list[ActiveRule] = field(default_factory=list)

    def set(self, rules: list[FaultRule]) -> None:
        self.rules = [
            ActiveRule(r, re.compile(r.match), random.Random(r.seed) if r.seed is not None else random.Random())
            for r in rules
        ]

    def add(self, rules: list[FaultRule]) -> None:
        keep = self.rules
        self.set(rules)
        self.rules = keep + self.rules

    def clear(self) -> None:
        self.rules = []

    def pick(self, host: str, method: str, route: str) -> FaultRule | None:
        subject = f"{method} {route}"
        for active in self.rules:
            rule = active.rule
            if rule.host is not None and rule.host != host:
                continue
            if rule.kind == "transient_read" and method != "GET":
                continue
            if not active.pattern.search(subject):
                continue
            if rule.times is not None and active.fired >= rule.times:
                continue
            active.seen += 1
            if active.seen <= rule.skip:
                continue
            if rule.probability is not None and active.rng.random() >= rule.probability:
                continue
            active.fired += 1
            return rule
        return None
