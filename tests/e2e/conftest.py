"""e2e fixtures: SAM CLI's local servers started early (see tests/e2e/samlocal_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from igpub_cli.deployment import Deployment
from tests.e2e.samlocal_support import Background


@pytest.fixture(scope="session")
def sam_local_background(dep: Deployment) -> Iterator[Background]:
    """One start of the sam local servers for the session, stopped at its end."""
    started = Background()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session", autouse=True)
def _start_sam_local_early(request: pytest.FixtureRequest) -> None:
    """When this session holds sam local tests, start their servers at its first e2e test."""
    if any(item.path.name == "test_sam_local.py" for item in request.session.items):
        request.getfixturevalue("sam_local_background")
