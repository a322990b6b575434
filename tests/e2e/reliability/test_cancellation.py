"""Cancelling a bulk upload at a random moment leaves no open server session, and a resumed
run (skip_existing=True) then stores every file exactly once. One test per seed."""

from __future__ import annotations

import random
from pathlib import Path

import anyio
import pytest

from nexus_async import Project
from nexus_async.testing import EmulatorServer
from tests.e2e.reliability.conftest import CANCEL_SEEDS
from tests.media import write_image_tree

FILES = 60


@pytest.mark.parametrize("seed", CANCEL_SEEDS)
async def test_cancel_at_a_random_point_then_resume(
    tmp_path: Path, project: Project, server: EmulatorServer, seed: int
) -> None:
    sizes = write_image_tree(tmp_path, FILES, depth=1)
    server.control.add_fault({"route": "storage", "latency_ms": [1, 15]})
    server.control.add_fault({"route": "upload_session_create", "latency_ms": [0, 30]})
    delay = random.Random(seed).uniform(0.0, 0.35)

    with anyio.move_on_after(delay):
        upload = project.assets.create_upload_session(max_concurrency=4, batch_size=20)
        async with upload as session:
            await session.add_path(tmp_path)

    await anyio.sleep(0.1)  # requests that were in flight reach the server
    assert server.control.stats()["open_upload_sessions"] == 0
    server.control.clear_faults()

    async with project.assets.create_upload_session(skip_existing=True) as session:
        await session.add_path(tmp_path)

    stored = {a.filename: a.metadata.file_size async for a in project.assets.iter(limit=1000)}
    stats = server.control.stats()
    assert stored == sizes
    assert stats["assets_stored"] == FILES
    assert stats["open_upload_sessions"] == 0
