"""Errors of the publishing package."""

from __future__ import annotations


class PublishingError(Exception):
    """Base class of the publishing errors."""


class RequestInvalid(PublishingError):
    """A post request broke one or more rules; ``problems`` holds one readable sentence per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        if not self.problems:
            return "the post request is invalid"
        if len(self.problems) == 1:
            return f"the post request is invalid: {self.problems[0]}"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"the post request has {len(self.problems)} problems:\n{lines}"
