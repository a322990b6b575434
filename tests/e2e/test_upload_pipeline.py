"""add_path as a pipeline, end to end: sending starts while the folder is still described, the
files held at once are bounded by batches (not by the folder), a late unfit file stops before
its batch is announced, cancellation mid-walk cancels the server sessions, resume works batch by
batch, and a small upload-session window is waited for, loudly.

The describing stage is gated on events where a test needs an order of events: no sleeps."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

import nexus_async
from nexus_async import AsyncClient, Project
from nexus_async._concurrency import task_group
from nexus_async._constants import BATCH_CONCURRENCY, DESCRIBE_CHUNK_FILES, DESCRIBE_CONCURRENCY
from nexus_async.emulator import EmulatorConfig
from nexus_async.emulator.config import RateLimitConfig
from nexus_async.testing import EmulatorServer
from nexus_async.uploads import asset_session
from nexus_async.uploads.asset_session import UploadProgress
from nexus_async.uploads.files import LocalFile, describe_asset_paths
from tests.media import png_bytes, write_image_tree

BATCH = 20
# Guards only: a pipeline that waited for the whole folder before sending would hang there.
GUARD_SECONDS = 120


@pytest.fixture
def unlimited() -> Iterator[EmulatorServer]:
    """An emulator without the upload-session limit (these tests make many small batches)."""
    with EmulatorServer(EmulatorConfig(rate_limit=RateLimitConfig(enabled=False))) as server:
        yield server


@pytest.fixture
async def project_of(unlimited: EmulatorServer, sleeps: list[float]) -> AsyncIterator[Project]:
    async with AsyncClient(
        unlimited.secret_key, endpoint=unlimited.base_url, upload_sessions_per_window=None
    ) as client:
        yield client.get_project(unlimited.project_id or "")


def gate_describing(monkeypatch: pytest.MonkeyPatch, from_index: int, gate: anyio.Event) -> None:
    """Files ``img{i}.png`` with ``i >= from_index`` are described only once ``gate`` is set."""

    async def gated(paths: list[Path], **options: object) -> list[object]:
        if int(paths[-1].stem[3:]) >= from_index:
            await gate.wait()
        return await describe_asset_paths(paths, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(asset_session, "describe_asset_paths", gated)


async def listed(project: Project) -> dict[str, int]:
    return {a.filename: a.metadata.file_size async for a in project.assets.iter(limit=1000)}


async def test_the_first_batch_is_stored_while_the_folder_is_still_described(
    tmp_path: Path, project_of: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = write_image_tree(tmp_path, 100, depth=0)
    stored = anyio.Event()
    gate_describing(monkeypatch, 60, stored)  # files 60-99 wait until a file was stored
    at_first_store: dict[str, object] = {}
    returned = False

    def progress(state: UploadProgress) -> None:
        if state.files_done and not stored.is_set():
            at_first_store.update(accepted=len(session), add_path_returned=returned)
            stored.set()

    with anyio.fail_after(GUARD_SECONDS):
        async with project_of.assets.create_upload_session(
            batch_size=BATCH, progress=progress
        ) as session:
            await session.add_path(tmp_path)
            returned = True
    assert at_first_store["add_path_returned"] is False
    assert 0 < at_first_store["accepted"] < 100  # type: ignore[operator]
    assert await listed(project_of) == sizes
    assert session.progress.files_done == session.progress.files_total == 100


async def test_files_held_at_once_are_bounded_by_batches_not_by_the_folder(
    tmp_path: Path, project_of: Project
) -> None:
    count = 1200
    write_image_tree(tmp_path, count, depth=1)
    alive: list[int] = []

    def progress(state: UploadProgress) -> None:
        if state.files_done % 100 == 50:
            alive.append(sum(isinstance(o, LocalFile) for o in gc.get_objects()))

    async with project_of.assets.create_upload_session(
        batch_size=BATCH, progress=progress, background=True
    ) as session:
        await session.add_path(tmp_path)
    # Batches in flight, one waiting for its turn, the one filling, the pending rest, and the
    # describing stage's window of chunks (in flight and finished, waiting in order).
    describing = (2 * DESCRIBE_CONCURRENCY + 2) * DESCRIBE_CHUNK_FILES
    bound = (BATCH_CONCURRENCY + 3) * BATCH + DESCRIBE_CHUNK_FILES + describing
    assert len(alive) >= 10
    assert max(alive) <= bound < count
    assert len(session) == count
    assert session._names.nbytes <= 20 * count + 8 * 1024  # 64-bit digests, not names
    assert len(session.get_operation_ids()) == count // BATCH


async def test_a_late_duplicate_stops_before_its_batch_is_announced(
    tmp_path: Path, project_of: Project, unlimited: EmulatorServer
) -> None:
    first = write_image_tree(tmp_path / "a", 25, depth=0)  # a/img0000.png ... a/img0024.png
    late = png_bytes(7, 7)
    assert len(late) != first["img0003.png"]
    (tmp_path / "z").mkdir()
    (tmp_path / "z" / "img0003.png").write_bytes(late)  # found last, same name as a/img0003
    order = sorted(first)

    async with project_of.assets.create_upload_session(batch_size=10) as session:
        with pytest.raises(nexus_async.DuplicateFilenameError, match=r"img0003\.png") as caught:
            await session.add_path(tmp_path)
        accepted = len(session)
        assert 10 <= accepted < 25  # whole batches went on while the folder was walked
        assert f"the first {accepted} file(s) of the folder" in str(caught.value)
        assert session.progress.files_total == accepted
    # Leaving the block without the error sends exactly the accepted files, and no server
    # session ever announced the late file (nor any file found after the accepted ones).
    assert await listed(project_of) == {name: first[name] for name in order[:accepted]}
    announced = [
        (item.filename, item.size)
        for upload in unlimited.emulator.state.store.upload_sessions.values()
        for item in upload.items
    ]
    assert sorted(announced) == [(name, first[name]) for name in order[:accepted]]
    assert unlimited.control.stats()["open_upload_sessions"] == 0


async def test_a_small_folder_is_checked_whole_before_anything_is_sent(
    tmp_path: Path, project_of: Project, unlimited: EmulatorServer
) -> None:
    write_image_tree(tmp_path, BATCH - 1, depth=0)
    (tmp_path / "zz-notes.png").write_bytes(b"plain text, not a png" * 10)  # found last
    async with project_of.assets.create_upload_session(batch_size=BATCH) as session:
        with pytest.raises(nexus_async.UnsupportedFileError, match="zz-notes"):
            await session.add_path(tmp_path)
        assert len(session) == 0
        assert "accepted" not in str(session)
        await session.add_bytes(png_bytes(3, 3), "other.png")
    assert list(await listed(project_of)) == ["other.png"]
    assert unlimited.control.stats()["created"]["upload_sessions"] == 1


async def test_cancelling_mid_walk_cancels_the_open_sessions_and_leaves_no_task(
    tmp_path: Path,
    project_of: Project,
    unlimited: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_image_tree(tmp_path, 200, depth=0)
    never = anyio.Event()
    gate_describing(monkeypatch, 120, never)  # add_path is still walking when cancelled
    unlimited.control.add_fault({"route": "storage", "latency_ms": 20})
    sending = anyio.Event()

    def progress(state: UploadProgress) -> None:
        if state.files_done >= 5:
            sending.set()

    with anyio.fail_after(GUARD_SECONDS), anyio.CancelScope() as scope:
        async with (
            project_of.assets.create_upload_session(
                batch_size=BATCH, progress=progress, max_concurrency=4
            ) as session,
            task_group() as group,
        ):

            async def cancel_once_sending() -> None:
                await sending.wait()
                scope.cancel()

            group.start_soon(cancel_once_sending)
            await session.add_path(tmp_path)
    assert scope.cancelled_caught
    assert 5 <= session.progress.files_done < 200
    stats = unlimited.control.stats()
    assert stats["created"]["upload_sessions"] >= 1
    assert stats["open_upload_sessions"] == 0
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_resume_skips_existing_files_batch_by_batch(
    tmp_path: Path, project_of: Project, unlimited: EmulatorServer
) -> None:
    sizes = write_image_tree(tmp_path, 60, depth=0)
    done_before = sorted(sizes)[::4]  # every 4th file is already in the project
    async with project_of.assets.create_upload_session() as session:
        for name in done_before:
            await session.add_bytes((tmp_path / name).read_bytes(), name)
    before = unlimited.control.stats()
    async with project_of.assets.create_upload_session(
        batch_size=BATCH, skip_existing=True
    ) as session:
        await session.add_path(tmp_path)
    after = unlimited.control.stats()
    assert await listed(project_of) == sizes
    assert session.skipped_unverified == done_before
    assert session.progress.files_skipped == len(done_before)
    assert session.progress.files_done == 60 - len(done_before)
    assert after["storage"]["requests"] - before["storage"]["requests"] == 60 - len(done_before)
    assert after["created"]["upload_sessions"] - before["created"]["upload_sessions"] == 3
    # The project's assets were listed once for the whole session, not once per batch.
    listing = after["requests"]["assets_list"] - before["requests"].get("assets_list", 0)
    assert listing == 1


async def test_a_small_session_window_is_waited_for_loudly_and_the_upload_finishes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = EmulatorConfig(rate_limit=RateLimitConfig(max_sessions=2, window_ms=1000))
    sizes = write_image_tree(tmp_path, 5 * BATCH, depth=0)
    waits: list[float] = []

    def progress(state: UploadProgress) -> None:
        if state.rate_limit_wait is not None:
            waits.append(state.rate_limit_wait)

    with EmulatorServer(config) as server, caplog.at_level(logging.WARNING, "nexus_async"):
        async with AsyncClient(
            server.secret_key, endpoint=server.base_url, upload_sessions_per_window=None
        ) as client:
            project = client.get_project(server.project_id or "")
            with anyio.fail_after(GUARD_SECONDS):
                async with project.assets.create_upload_session(
                    batch_size=BATCH, progress=progress
                ) as session:
                    await session.add_path(tmp_path)
            assert await listed(project) == sizes
        stats = server.control.stats()
    assert stats["created"]["upload_sessions"] == 5
    assert waits  # every wait was reported to progress...
    assert any("upload-session limit" in r.getMessage() for r in caplog.records)  # ...and logged
    assert session.progress.rate_limit_wait is None
