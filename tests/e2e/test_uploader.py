"""The service uploader end to end: concurrent calls coalesced into shared sessions over real
HTTP, per-file outcomes, backpressure, withdrawal of cancelled callers, the session budget."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from nexus_async import (
    AsyncClient,
    InvalidInputError,
    Project,
    UnsupportedFileError,
    UploadedAsset,
    UploadError,
)
from nexus_async.emulator import EmulatorConfig, RateLimitConfig
from nexus_async.testing import EmulatorServer
from nexus_async.uploads import uploader as uploader_module
from nexus_async.uploads.rate_limit import SessionCreationLimits
from nexus_async.uploads.uploader import AssetUploader
from tests.media import png_bytes


async def stored_names(project: Project) -> set[str]:
    return {asset.filename async for asset in project.assets.iter(limit=1000)}


async def pending_reaches(uploader: AssetUploader, count: int) -> None:
    """Wait until ``count`` files have joined the uploader's open batch."""
    with anyio.fail_after(30):
        while f"pending={count}," not in repr(uploader):  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.001)


def sessions_created(server: EmulatorServer) -> int:
    return int(server.control.stats()["created"]["upload_sessions"])


async def test_concurrent_calls_share_sessions_and_each_returns_its_own_file(
    project: Project, server: EmulatorServer
) -> None:
    images = {f"frame-{i:03d}.png": png_bytes(8 + i % 5, 8) for i in range(60)}
    async with project.assets.create_uploader(groups=["api"], max_delay=1.0) as uploader:
        results = await asyncio.gather(
            *(uploader.upload_bytes(data, name) for name, data in images.items())
        )
    assert [r.filename for r in results] == list(images)
    assert all(isinstance(r, UploadedAsset) for r in results)
    assert [r.size for r in results] == [len(data) for data in images.values()]
    assert len({r.session_id for r in results}) == sessions_created(server) <= 2
    assert await stored_names(project) == set(images)
    asset = await project.assets.get(results[0].filename)
    assert asset.metadata.groups == ["api"]
    assert server.control.stats()["open_upload_sessions"] == 0


async def test_a_file_that_fails_to_transfer_fails_alone(
    project: Project,
    server: EmulatorServer,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second file of the session (index 1) is refused by storage, for good.
    server.control.add_fault({"route": "storage", "path": "/ingest/[^/]+/1$", "status": 403})
    names = ["ok-1.png", "broken.png", "ok-2.png"]
    # The batch waits for the block's end (no timer can close it early on a loaded machine),
    # and each file has joined before the next call starts, so the order is the session's.
    monkeypatch.setattr(uploader_module, "UPLOADER_LINGER", 600.0)
    async with project.assets.create_uploader(max_delay=600) as uploader:
        calls = []
        for count, name in enumerate(names, start=1):
            calls.append(asyncio.ensure_future(uploader.upload_bytes(png_bytes(6, 6), name)))
            await pending_reaches(uploader, count)
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    ok_1, broken, ok_2 = outcomes
    assert isinstance(ok_1, UploadedAsset)
    assert isinstance(ok_2, UploadedAsset)
    assert isinstance(broken, UploadError)
    assert [f.filename for f in broken.failed] == ["broken.png"]
    assert "403" in str(broken)
    assert ok_1.session_id == ok_2.session_id  # same session, unaffected by its failed file
    assert await stored_names(project) == {"ok-1.png", "ok-2.png"}
    assert server.control.stats()["open_upload_sessions"] == 0  # cancelled, files kept


async def test_bad_input_raises_at_the_call_and_nothing_is_queued(
    project: Project, server: EmulatorServer, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not an image")
    async with project.assets.create_uploader(max_delay=0.2) as uploader:
        with pytest.raises(UnsupportedFileError):
            await uploader.upload_bytes(b"not a png at all", "fake.png")
        with pytest.raises(UnsupportedFileError):
            await uploader.upload_path(tmp_path / "notes.txt")
        with pytest.raises(InvalidInputError, match="one file"):
            await uploader.upload_path(tmp_path)
        with pytest.raises(InvalidInputError):
            await uploader.upload_bytes(png_bytes(4, 4), "a.png", custom_metadata={"x": [1]})
    assert sessions_created(server) == 0
    with pytest.raises(InvalidInputError, match="closed"):
        await uploader.upload_bytes(png_bytes(4, 4), "late.png")


async def test_a_cancelled_caller_withdraws_its_file_and_the_others_go_on(
    project: Project, server: EmulatorServer
) -> None:
    async with project.assets.create_uploader(max_delay=1.0) as uploader:
        await uploader.upload_bytes(png_bytes(5, 5), "first.png")  # the next batch is paced
        stays = asyncio.ensure_future(uploader.upload_bytes(png_bytes(5, 5), "stays.png"))
        leaves = asyncio.ensure_future(uploader.upload_bytes(png_bytes(5, 5), "leaves.png"))
        await asyncio.sleep(0.1)  # both wait in the open batch
        leaves.cancel()
        stored = await stays
    assert leaves.cancelled()
    assert stored.filename == "stays.png"
    assert await stored_names(project) == {"first.png", "stays.png"}


async def test_leaving_the_block_sends_what_is_pending(
    project: Project, server: EmulatorServer, tmp_path: Path
) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(png_bytes(9, 9))
    started = time.monotonic()
    async with project.assets.create_uploader(max_delay=60) as uploader:
        call = asyncio.ensure_future(uploader.upload_path(path, custom_metadata={"site": "B"}))
        await asyncio.sleep(0.1)
    stored = await call
    assert time.monotonic() - started < 10  # did not wait for max_delay
    assert stored.filename == "scan.png"
    asset = await project.assets.get("scan.png")
    assert asset.metadata.custom_metadata == {"site": "B"}


async def test_backpressure_bounds_the_files_waiting(project: Project) -> None:
    async with project.assets.create_uploader(max_pending=2, max_delay=0.5) as uploader:
        await uploader.upload_bytes(png_bytes(4, 4), "first.png")  # the next batch is paced
        calls = [
            asyncio.ensure_future(uploader.upload_bytes(png_bytes(4, 4), f"bp-{i}.png"))
            for i in range(5)
        ]
        await asyncio.sleep(0.1)
        queued = sum(len(b.entries) for b in [uploader._batch] if b is not None)
        assert queued == 2  # the other three wait for room
        results = await asyncio.gather(*calls)
    assert sorted(r.filename for r in results) == [f"bp-{i}.png" for i in range(5)]
    assert len({r.session_id for r in results}) >= 3  # two files at most per batch


@pytest.fixture
def small_budget() -> Iterator[EmulatorServer]:
    """An emulator whose session limit is 3 per 3 s (15 per 300 s, scaled 100x down)."""
    config = EmulatorConfig(rate_limit=RateLimitConfig(max_sessions=3, window_ms=3000))
    with EmulatorServer(config) as server:
        yield server


async def test_sustained_traffic_stays_inside_the_session_budget_without_waiting(
    small_budget: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The 100 uploads per minute under 15 sessions per 300 s, scaled 100x faster:
    # 100 calls at 100/6 per second under 3 sessions per 3 s.
    server = small_budget
    async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
        client._creation_limits = SessionCreationLimits(3, 3.0)
        project = client.get_project(server.project_id or "")
        with caplog.at_level(logging.WARNING, logger="nexus_async"):
            async with project.assets.create_uploader(max_delay=1.2) as uploader:

                async def one(i: int) -> UploadedAsset:
                    await asyncio.sleep(i * 0.06)
                    return await uploader.upload_bytes(png_bytes(4, 4), f"s-{i:03d}.png")

                results = await asyncio.gather(*(one(i) for i in range(100)))
        stored = await stored_names(project)
    assert len(results) == len(stored) == 100
    assert not [r for r in caplog.records if "upload-session limit" in r.getMessage()]
    assert server.emulator is not None
    created = sorted(s.created_at for s in server.emulator.state.store.upload_sessions.values())
    assert len(created) >= 5
    for i, start in enumerate(created):
        assert sum(1 for t in created[i:] if t < start + 3000) <= 3  # any 3 s window


async def test_an_error_in_the_block_fails_waiting_callers_with_upload_error(
    project: Project, server: EmulatorServer
) -> None:
    server.control.add_fault({"route": "storage", "latency_ms": 2000})
    calls: list[asyncio.Future[UploadedAsset]] = []
    with pytest.raises(KeyError):
        async with project.assets.create_uploader(max_delay=0.1) as uploader:
            calls.append(asyncio.ensure_future(uploader.upload_bytes(png_bytes(4, 4), "x.png")))
            await asyncio.sleep(0.5)  # its batch is being sent
            raise KeyError("the service failed")
    (outcome,) = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(outcome, UploadError)
    assert [f.filename for f in outcome.failed] == ["x.png"]
    assert "closed before this file was stored" in str(outcome)
    server.control.clear_faults()
    await asyncio.sleep(0.3)
    assert server.control.stats()["open_upload_sessions"] == 0
