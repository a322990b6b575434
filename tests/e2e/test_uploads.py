"""Asset upload sessions end to end: real files, real HTTP, the emulator's storage checks."""

from __future__ import annotations

import contextlib
from pathlib import Path

import anyio
import pytest

import nexus_async
from nexus_async import AsyncClient, Project
from nexus_async._concurrency import task_group
from nexus_async.emulator import EmulatorConfig
from nexus_async.testing import EmulatorServer
from nexus_async.uploads.asset_session import UploadProgress
from tests.media import jpeg_bytes, png_bytes, write_image_tree


async def listed(project: Project) -> dict[str, nexus_async.Asset]:
    return {asset.filename: asset async for asset in project.assets.iter(limit=1000)}


async def test_a_nested_folder_bytes_and_metadata_upload_and_are_ingested(
    tmp_path: Path, project: Project, server: EmulatorServer
) -> None:
    sizes = write_image_tree(tmp_path / "photos", 300)
    seen: list[UploadProgress] = []
    async with project.assets.create_upload_session(
        groups=["main", "batch-1"], progress=lambda p: seen.append(dataclass_copy(p))
    ) as session:
        await session.add_path(tmp_path / "photos", custom_metadata={"site": "A", "n": 1})
        await session.add_bytes(jpeg_bytes(64, 48), "cam1-0001.jpg", custom_metadata={"camera": 1})
        assert len(session) == 301
    assets = await listed(project)
    assert {
        name: a.metadata.file_size for name, a in assets.items() if name != "cam1-0001.jpg"
    } == sizes
    camera = assets["cam1-0001.jpg"]
    assert (camera.metadata.width, camera.metadata.height) == (64, 48)
    assert camera.metadata.custom_metadata == {"camera": 1}
    assert assets["img0007.png"].metadata.custom_metadata == {"site": "A", "n": 1}
    assert assets["img0007.png"].metadata.groups == ["main", "batch-1"]
    assert len(session.get_operation_ids()) == 1
    assert seen[-1].files_done == seen[-1].files_total == 301
    assert seen[-1].bytes_done == seen[-1].bytes_total
    stats = server.control.stats()
    assert stats["open_upload_sessions"] == 0
    assert stats["storage"]["checksum_failures"] == 0
    assert "secret-key" not in [h.lower() for h in stats["storage"]["header_names"]]


def dataclass_copy(progress: UploadProgress) -> UploadProgress:
    import dataclasses

    return dataclasses.replace(progress)


async def test_batches_give_one_operation_each_and_background_mode_waits_later(
    tmp_path: Path, project: Project
) -> None:
    write_image_tree(tmp_path, 25, depth=1)
    session = project.assets.create_upload_session(background=True, batch_size=10)
    async with session:
        await session.add_path(tmp_path)
    op_ids = session.get_operation_ids()
    assert len(op_ids) == 3
    operations = await session.wait_until_done()
    assert [op.status.overview for op in operations] == ["Finished"] * 3
    assert len(await listed(project)) == 25


async def test_multipart_files_go_in_parts(tmp_path: Path, sleeps: list[float]) -> None:
    config = EmulatorConfig(multipart_part_size=256 * 1024)
    big = tmp_path / "clip.mp4"
    big.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8000)  # ~2 MiB "video"
    with EmulatorServer(config) as server:
        async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
            project = client.get_project(server.project_id or "")
            async with project.assets.create_upload_session(
                multipart_threshold=512 * 1024, chunk_size=64 * 1024, part_concurrency=3
            ) as session:
                await session.add_path(big)
                await session.add_bytes(png_bytes(5, 5), "small.png")
            asset = await project.assets.get("clip.mp4")
            stats = server.control.stats()
    assert asset.metadata.file_size == big.stat().st_size
    assert asset.metadata.mime_type == "video/mp4"
    assert stats["created"]["multipart_uploads"] == 1
    assert stats["storage"]["bytes_received"] == big.stat().st_size + len(png_bytes(5, 5))


async def test_storage_faults_are_healed_by_retries(
    tmp_path: Path, project: Project, server: EmulatorServer, sleeps: list[float]
) -> None:
    sizes = write_image_tree(tmp_path, 120, depth=2)
    server.control.add_fault({"route": "storage", "status": 503, "error_rate": 0.2, "seed": 7})
    server.control.add_fault({"route": "storage", "drop": True, "error_rate": 0.05, "seed": 8})
    async with project.assets.create_upload_session() as session:
        await session.add_path(tmp_path)
    assets = await listed(project)
    assert {n: a.metadata.file_size for n, a in assets.items()} == sizes
    stats = server.control.stats()
    assert stats["faults"]["triggered"] > 10
    assert stats["open_upload_sessions"] == 0


async def test_a_file_that_keeps_failing_raises_upload_error_and_cancels_the_session(
    tmp_path: Path, project: Project, server: EmulatorServer, sleeps: list[float]
) -> None:
    write_image_tree(tmp_path, 40, depth=0)  # flat: discovery order is name order
    server.control.add_fault({"route": "storage", "path": "/ingest/[^/]+/13$", "status": 403})
    with pytest.raises(nexus_async.UploadError) as caught:
        async with project.assets.create_upload_session(max_concurrency=4) as session:
            await session.add_path(tmp_path)
    error = caught.value
    assert [failed.filename for failed in error.failed] == ["img0013.png"]
    assert isinstance(error.failed[0].cause, nexus_async.StorageError)
    assert error.failed[0].cause.status_code == 403
    assert "img0013.png" in str(error)
    assert "?" not in str(error.failed[0].cause)  # the signed URL's query never shows
    stats = server.control.stats()
    assert stats["open_upload_sessions"] == 0
    assert stats["created"]["upload_sessions"] == 1


async def test_an_exception_in_the_block_sends_nothing(
    tmp_path: Path, project: Project, server: EmulatorServer
) -> None:
    write_image_tree(tmp_path, 5, depth=1)
    with pytest.raises(RuntimeError, match="user code"):
        async with project.assets.create_upload_session() as session:
            await session.add_path(tmp_path)
            raise RuntimeError("user code failed")
    stats = server.control.stats()
    assert stats["created"]["upload_sessions"] == 0
    assert stats["storage"]["requests"] == 0


async def test_cancellation_mid_upload_leaves_no_open_session_and_resume_finishes(
    tmp_path: Path, project: Project, server: EmulatorServer
) -> None:
    sizes = write_image_tree(tmp_path, 200, depth=2)
    server.control.add_fault({"route": "storage", "latency_ms": 20})
    done = 0

    def count(progress: UploadProgress) -> None:
        nonlocal done
        done = progress.files_done

    with anyio.move_on_after(30) as scope:
        async with project.assets.create_upload_session(
            max_concurrency=4, progress=count
        ) as session:
            await session.add_path(tmp_path)
            scope.deadline = anyio.current_time() + 0.4  # cancel while the files are in flight
    assert scope.cancelled_caught
    assert 0 < done < 200
    assert server.control.stats()["open_upload_sessions"] == 0
    server.control.clear_faults()
    await anyio.sleep(0.5)  # let the requests that were in flight reach the server

    before = server.control.stats()["storage"]["requests"]
    progress = UploadProgress()

    def keep(p: UploadProgress) -> None:
        progress.files_skipped, progress.files_done = p.files_skipped, p.files_done
        progress.bytes_done, progress.bytes_total = p.bytes_done, p.bytes_total

    async with project.assets.create_upload_session(skip_existing=True, progress=keep) as session:
        await session.add_path(tmp_path)
    assets = await listed(project)
    assert {n: a.metadata.file_size for n, a in assets.items()} == sizes
    resent = server.control.stats()["storage"]["requests"] - before
    assert progress.files_skipped > 0
    assert resent == 200 - progress.files_skipped
    assert progress.files_done + progress.files_skipped == 200
    assert progress.bytes_done == progress.bytes_total == sum(sizes.values())


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (lambda root: root / "missing", nexus_async.InvalidInputError),
        (lambda root: (root / "empty").mkdir() or root / "empty", nexus_async.InvalidInputError),
        (lambda root: _write(root / "notes.txt", b"hello"), nexus_async.UnsupportedFileError),
        (
            lambda root: _write(root / "fake.png", b"this is text, not a png" * 10),
            nexus_async.UnsupportedFileError,
        ),
        (lambda root: _write(root / "zero.png", b""), nexus_async.UnsupportedFileError),
    ],
    ids=["missing", "empty-folder", "unsupported", "disguised", "zero-bytes"],
)
async def test_bad_files_raise_before_anything_is_sent(
    tmp_path: Path, project: Project, server: EmulatorServer, setup, error: type[Exception]
) -> None:
    target = setup(tmp_path)
    with pytest.raises(error):
        async with project.assets.create_upload_session() as session:
            await session.add_path(target)
    stats = server.control.stats()
    assert stats["created"]["upload_sessions"] == 0
    assert stats["storage"]["requests"] == 0


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_duplicates_metadata_and_empty_sessions_are_refused_locally(
    tmp_path: Path, project: Project, server: EmulatorServer
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write(tmp_path / "a" / "same.png", png_bytes(2, 2))
    _write(tmp_path / "b" / "same.png", png_bytes(3, 3))
    with pytest.raises(nexus_async.DuplicateFilenameError, match=r"same\.png"):
        async with project.assets.create_upload_session() as session:
            await session.add_path(tmp_path)
    with pytest.raises(nexus_async.InvalidMetadataError):
        async with project.assets.create_upload_session() as session:
            await session.add_path(tmp_path / "a", custom_metadata={"nested": {"no": 1}})
    with pytest.raises(nexus_async.InvalidInputError, match="empty"):
        async with project.assets.create_upload_session():
            pass
    with pytest.raises(nexus_async.InvalidInputError, match="groups"):
        project.assets.create_upload_session(groups=["main", " "])
    assert server.control.stats()["created"]["upload_sessions"] == 0


async def test_adding_outside_the_block_is_refused(project: Project) -> None:
    session = project.assets.create_upload_session()
    with pytest.raises(nexus_async.InvalidInputError, match="async with"):
        await session.add_bytes(png_bytes(2, 2), "a.png")


async def test_concurrent_adds_with_a_common_name_leave_nothing_half_added(
    tmp_path: Path, project: Project
) -> None:
    for folder in ("one", "two"):
        write_image_tree(tmp_path / folder, 20, depth=0)  # the same 20 names in both folders
        (tmp_path / folder / f"aaa-{folder}.png").write_bytes(png_bytes(4, 4))  # sorts first
    async with project.assets.create_upload_session() as session:
        with pytest.raises(nexus_async.DuplicateFilenameError):
            async with task_group() as group:  # raises the lone error itself, not a group
                group.start_soon(session.add_path, tmp_path / "one")
                group.start_soon(session.add_path, tmp_path / "two")
        assert len(session) == 21  # exactly one folder was taken, whole
        added = []
        for name in ("aaa-one.png", "aaa-two.png"):  # the losing folder left no name behind
            with contextlib.suppress(nexus_async.DuplicateFilenameError):
                await session.add_bytes(png_bytes(5, 5), name)
                added.append(name)
        assert len(added) == 1
    assert len(await listed(project)) == 22


class CallbackBug(Exception):
    """The exception of a caller's buggy progress callback."""


@pytest.mark.parametrize("fail_at", ["first", "last", "multipart part"])
async def test_an_exception_in_the_progress_callback_propagates_as_itself(
    tmp_path: Path, project: Project, server: EmulatorServer, fail_at: str
) -> None:
    write_image_tree(tmp_path, 12, depth=0)
    (tmp_path / "big.png").write_bytes(png_bytes(8, 8, b"\0" * 40_000))
    calls: list[UploadProgress] = []

    def progress(state: UploadProgress) -> None:
        calls.append(dataclass_copy(state))
        last = state.files_done == state.files_total
        in_part = state.files_done == 0 and state.bytes_done > 0
        if {"first": len(calls) == 1, "last": last, "multipart part": in_part}[fail_at]:
            raise CallbackBug(fail_at)

    with pytest.raises(CallbackBug) as raised:
        async with project.assets.create_upload_session(
            progress=progress, multipart_threshold=20_000, max_concurrency=1, batch_size=13
        ) as session:
            await session.add_path(tmp_path)
    assert str(raised.value) == fail_at
    assert not isinstance(raised.value, nexus_async.UploadError)
    assert server.control.stats()["open_upload_sessions"] == 0


@pytest.mark.parametrize("progress", [123, "print", [print]])
def test_a_progress_that_is_not_callable_is_refused_at_creation(
    project: Project, progress: object
) -> None:
    with pytest.raises(nexus_async.InvalidInputError, match="progress must be a callable"):
        project.assets.create_upload_session(progress=progress)  # type: ignore[arg-type]


async def test_resume_never_keeps_edited_bytes_silently(
    tmp_path: Path, project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    first, edited = png_bytes(20, 10), png_bytes(10, 20)  # same size, other content
    assert len(first) == len(edited)
    assert first != edited
    async with project.assets.create_upload_session() as session:
        await session.add_bytes(first, "scan.png")
    (tmp_path / "scan.png").write_bytes(edited)
    with caplog.at_level(logging.WARNING, logger="nexus_async"):
        async with project.assets.create_upload_session(skip_existing=True) as session:
            await session.add_path(tmp_path / "scan.png")
    assert session.skipped_unverified == ["scan.png"]  # named, not silent
    assert any("content was not compared" in r.getMessage() for r in caplog.records)
