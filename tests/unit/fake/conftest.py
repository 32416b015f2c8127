"""Fixtures for the fake Instagram tests: one server per session on a free loopback port, reset
before every test, plus a small client that speaks to it over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_helpers import IG

from fakeig.testing import FakeInstagram


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeInstagram]:
    server = FakeInstagram()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _reset(fake: FakeInstagram) -> None:
    fake.reset()


@pytest.fixture
def ig(fake: FakeInstagram) -> Iterator[IG]:
    client = IG(fake)
    yield client
    client.http.close()


@pytest.fixture
def user(ig: IG) -> IG:
    """An IG client logged in (long-lived token) as the default user."""
    return ig.login()
