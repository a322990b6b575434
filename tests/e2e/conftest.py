"""End-to-end fixtures: a real emulator server on 127.0.0.1 and an SDK client pointed at it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator

import pytest

from nexus_async import AsyncClient, Project
from nexus_async.emulator import EmulatorConfig
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A fresh emulator (instant timing) with its default workspace and project."""
    with EmulatorServer(EmulatorConfig()) as server:
        yield server


@pytest.fixture
async def client(server: EmulatorServer, sleeps: list[float]) -> AsyncIterator[AsyncClient]:
    """An SDK client of the emulator (retry sleeps recorded, not slept)."""
    async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
        yield client


@pytest.fixture
def project(client: AsyncClient, server: EmulatorServer) -> Project:
    """The emulator's default project."""
    assert server.project_id is not None
    return client.get_project(server.project_id)


@pytest.fixture
async def seeded(server: EmulatorServer, sleeps: list[float]) -> AsyncIterator[Project]:
    """A project of its own workspace holding five PNG assets, one named ``my file#1.png``."""
    names = ["a.png", "b.png", "my file#1.png", "d.png", "e.png"]
    assets = [
        {"filename": name, "content_base64": base64.b64encode(png_bytes(40 + i, 30)).decode()}
        for i, name in enumerate(names)
    ]
    key = "seeded-workspace-key"
    created = server.control.seed(
        {"workspaces": [{"secret_key": key, "projects": [{"tags": ["boat"], "assets": assets}]}]}
    )
    project_id = created["workspaces"][0]["projects"][0]["id"]
    async with AsyncClient(key, endpoint=server.base_url) as client:
        yield client.get_project(project_id)
