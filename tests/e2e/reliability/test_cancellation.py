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


@pytest.mark.parametrize("seed", CANCEL_SEEDS)
async def test_cancel_an_import_at_a_random_point_then_rerun_if_nothing_was_committed(
    tmp_path: Path, seeded: Project, server: EmulatorServer, seed: int
) -> None:
    names = [asset.filename async for asset in seeded.assets.iter()]
    labels = tmp_path / "labels"
    labels.mkdir()
    for index, name in enumerate(names):
        (labels / f"l{index}.csv").write_text(
            f"filename,xmin,ymin,xmax,ymax,label\n{name},1,1,9,9,boat\n"
        )
    server.control.add_fault({"route": "storage", "latency_ms": [10, 40]})
    server.control.add_fault({"route": "import_session_create", "latency_ms": [0, 30]})
    delay = random.Random(1000 + seed).uniform(0.0, 0.3)

    with anyio.move_on_after(delay):
        async with seeded.annotations.create_import_session(max_concurrency=2) as session:
            await session.add_path(labels)
    server.control.clear_faults()

    # A cancelled import either committed nothing (never created, or marked failed) or had
    # passed its commit point (FilesInserted) and finishes on the server by itself.
    states = []
    for created in await seeded.annotations.list_import_sessions():
        state = await seeded.annotations.get_import_session(created.id)
        while state.status.overview == "Running" and state.status.files.with_status.Processing:
            await anyio.sleep(0.05)
            state = await seeded.annotations.get_import_session(created.id)
        states.append(state.status.overview)
    committed = [a async for a in seeded.annotations.iter()]
    if "Finished" in states:
        assert len(committed) == len(names)
    else:
        assert committed == []  # no half-registered import
        async with seeded.annotations.create_import_session() as session:
            await session.add_path(labels)
    boxes = [a.asset_id async for a in seeded.annotations.iter()]
    assert len(boxes) == len(set(boxes)) == len(names)  # every box exactly once
