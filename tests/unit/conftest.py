"""Fixtures of the respx-based unit tests: a client on a fake endpoint, and a project."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx

from nexus_async import AsyncClient, Project
from tests.virtual_clock import VirtualClock

BASE_URL = "https://api.test"
SECRET = "test-secret-key-0123456789"
PROJECT_ID = "proj_b705a30ae26671657f1fd51eb2d4739d"


@pytest.fixture(autouse=True)
def storage_on_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    """respx intercepts httpx only: storage clients left on ``"auto"`` use the httpx engine
    here. Tests of the aiohttp engine ask for it by name."""
    monkeypatch.setattr("nexus_async.uploads.storage.engine.aiohttp_available", lambda: False)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """A respx router for the fake API; every request must match a route."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client(sleeps: list[float], virtual_clock: VirtualClock) -> AsyncIterator[AsyncClient]:
    """A client of the fake API on virtual time (its waits recorded in ``sleeps``)."""
    async with AsyncClient(SECRET, endpoint=BASE_URL, clock=virtual_clock.clock) as client:
        yield client


@pytest.fixture
def project(client: AsyncClient) -> Project:
    """A handle on the test project."""
    return client.get_project(PROJECT_ID)
