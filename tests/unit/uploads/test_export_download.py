"""Exports with respx: the foreground wait, the download (no API headers, streamed to disk),
safe extraction (zip slip, symlinks, corrupt archives refused with nothing extracted), and the
typed errors for running and failed exports."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import respx
from httpx import AsyncByteStream

import nexus_async
from nexus_async import Project
from tests.unit import payloads
from tests.unit.conftest import BASE_URL

P = f"{BASE_URL}/projects/{payloads.PROJECT_ID}"
ZIP_URL = "https://storage.test/exports/op_1.zip?token=s3cr3t"
KEY = payloads.PROJECT_ID.removeprefix("proj_")


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """One router for the API and storage hosts."""
    with respx.mock(assert_all_called=False) as router:
        yield router


def zip_bytes(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink is not None:
            info = zipfile.ZipInfo(symlink)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def export_state(status: str = "Finished") -> dict[str, object]:
    body: dict[str, object] = {"opId": "op_1", "status": status}
    if status == "Finished":
        body["download"] = {"method": "GET", "url": ZIP_URL, "expiryDate": 1706183829833}
    return body


def serve(api: respx.MockRouter, archive: bytes, status: str = "Finished") -> respx.Route:
    api.get(f"{P}/annotationexports/op_1").respond(json=export_state(status))
    return api.get(ZIP_URL).respond(200, content=archive)


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


async def test_foreground_export_posts_then_polls_the_operation(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    create = api.post(f"{P}/annotationexports").respond(json=payloads.operation("Queued"))
    poll = api.get(f"{P}/operations/op_1").mock(
        side_effect=[
            httpx.Response(200, json=payloads.operation("Running")),
            httpx.Response(200, json=payloads.operation("Finished")),
        ]
    )
    op = await project.annotations.create_export(
        {"format": "csv_fourcorner", "options": {"split_ratio": 0.5, "seed": 1337}}
    )
    assert json.loads(create.calls.last.request.content) == {
        "format": "csv_fourcorner",
        "options": {"splitRatio": 0.5, "seed": 1337, "normalized": True},
    }
    assert op.status.overview == "Finished"
    assert poll.call_count == 2
    assert [call.request.url.path for call in api.calls] == [  # no GET-project pre-flight
        f"/projects/{payloads.PROJECT_ID}/annotationexports",
        f"/projects/{payloads.PROJECT_ID}/operations/op_1",
        f"/projects/{payloads.PROJECT_ID}/operations/op_1",
    ]


async def test_an_errored_foreground_export_raises(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    api.post(f"{P}/annotationexports").respond(json=payloads.operation("Queued"))
    api.get(f"{P}/operations/op_1").respond(json=payloads.operation("Errored"))
    with pytest.raises(nexus_async.OperationFailedError, match="op_1 ended Errored"):
        await project.annotations.create_export(
            {"format": "coco", "options": {"split_ratio": 0, "seed": 1}}
        )


async def test_download_streams_the_zip_and_extracts_it(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    storage = serve(
        api,
        zip_bytes(
            {f"{KEY}/train.csv": b"filename\n", f"{KEY}/validate.csv": b"v\n", f"{KEY}/": b""}
        ),
    )
    (tmp_path / "keep.txt").write_text("mine")
    local = await project.annotations.download_exported_file("op_1", tmp_path)
    assert local.download_path == str(tmp_path)
    assert local.file_names == [f"{KEY}/train.csv", f"{KEY}/validate.csv"]
    assert (tmp_path / KEY / "train.csv").read_bytes() == b"filename\n"
    assert tree(tmp_path) == sorted(["keep.txt", KEY, f"{KEY}/train.csv", f"{KEY}/validate.csv"])
    request = storage.calls.last.request
    assert "secret-key" not in request.headers  # no API headers on the signed URL


async def test_download_into_a_new_folder_and_over_a_previous_export(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    serve(api, zip_bytes({f"{KEY}/train.csv": b"new\n"}))
    target = tmp_path / "a" / "b"
    await project.annotations.download_exported_file("op_1", target)
    (target / KEY / "train.csv").write_bytes(b"old\n")
    await project.annotations.download_exported_file("op_1", target)
    assert (target / KEY / "train.csv").read_bytes() == b"new\n"
    assert tree(target) == [KEY, f"{KEY}/train.csv"]


@pytest.mark.parametrize(
    ("entries", "symlink", "entry"),
    [
        ({"ok.csv": b"1", "../evil.csv": b"x"}, None, "../evil.csv"),
        ({"ok.csv": b"1", "a/../../evil.csv": b"x"}, None, "a/../../evil.csv"),
        ({"ok.csv": b"1", "/etc/evil.csv": b"x"}, None, "/etc/evil.csv"),
        ({"ok.csv": b"1", "C:/evil.csv": b"x"}, None, "C:/evil.csv"),
        ({"ok.csv": b"1", "a\\..\\..\\evil.csv": b"x"}, None, "a\\..\\..\\evil.csv"),
        ({"ok.csv": b"1"}, "link", "link"),
    ],
)
async def test_unsafe_entries_are_refused_and_nothing_is_extracted(
    api: respx.MockRouter,
    project: Project,
    tmp_path: Path,
    entries: dict[str, bytes],
    symlink: str | None,
    entry: str,
) -> None:
    serve(api, zip_bytes(entries, symlink))
    (tmp_path / "existing").mkdir()
    with pytest.raises(nexus_async.ArchiveError) as caught:
        await project.annotations.download_exported_file("op_1", tmp_path / "existing")
    assert caught.value.entry == entry
    assert "nothing was extracted" in str(caught.value)
    assert tree(tmp_path) == ["existing"]  # no ok.csv, no staging folder, nothing outside


async def test_a_corrupt_zip_is_refused_and_a_new_target_is_removed(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    serve(api, b"PK\x03\x04 this is not really a zip")
    with pytest.raises(nexus_async.ArchiveError, match="not a valid ZIP"):
        await project.annotations.download_exported_file("op_1", tmp_path / "new")
    assert tree(tmp_path) == []


async def test_a_crc_mismatch_inside_the_archive_is_refused_and_leaves_nothing(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    data = bytearray(zip_bytes({"a.csv": b"hello world, hello world"}))
    data[data.index(b"hello world")] ^= 0xFF  # stored, not deflated: flip one data byte
    serve(api, bytes(data))
    with pytest.raises(nexus_async.ArchiveError, match="not a valid ZIP"):
        await project.annotations.download_exported_file("op_1", tmp_path)
    assert tree(tmp_path) == []


async def test_a_failed_download_leaves_nothing(
    api: respx.MockRouter, project: Project, tmp_path: Path, sleeps: list[float]
) -> None:
    api.get(f"{P}/annotationexports/op_1").respond(json=export_state())
    api.get(ZIP_URL).respond(403, text="<Error><Code>AccessDenied</Code></Error>")
    with pytest.raises(nexus_async.StorageError, match="AccessDenied") as caught:
        await project.annotations.download_exported_file("op_1", tmp_path / "out")
    assert "s3cr3t" not in str(caught.value)
    assert tree(tmp_path) == []


@pytest.mark.parametrize(
    ("status", "error", "match"),
    [
        ("Running", nexus_async.OperationNotFinishedError, "still Running"),
        ("Queued", nexus_async.OperationNotFinishedError, "still Queued"),
        ("Errored", nexus_async.OperationFailedError, "ended Errored"),
        ("Cancelled", nexus_async.OperationCancelledError, "cancelled"),
    ],
)
async def test_an_unfinished_or_failed_export_says_so(
    api: respx.MockRouter,
    project: Project,
    tmp_path: Path,
    status: str,
    error: type[Exception],
    match: str,
) -> None:
    storage = serve(api, b"", status)
    with pytest.raises(error, match=match):
        await project.annotations.download_exported_file("op_1", tmp_path / "out")
    assert not storage.called
    assert tree(tmp_path) == []


async def test_a_file_as_the_target_is_refused_before_any_request(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(nexus_async.InvalidInputError, match="is a file"):
        await project.annotations.download_exported_file("op_1", tmp_path / "taken")
    assert not api.calls


# --- bounded downloads and odd archives (issue 15) ----------------------------------------------

MiB = 1024 * 1024


class AsyncStream(AsyncByteStream):
    """A response body from an async iterator (respx streams it as it comes)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk


def zip_bomb(uncompressed: int) -> bytes:
    """One deflated entry of zeros: about 1 030 times smaller than it extracts."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("bomb.csv", "w") as entry,
    ):
        for _ in range(uncompressed // MiB):
            entry.write(bytes(MiB))
    return buffer.getvalue()


def many_entries(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(count):
            archive.writestr(f"{KEY}/{index}.xml", b"x")
    return buffer.getvalue()


async def refused(
    project: Project, target: Path, limits: nexus_async.ArchiveLimits | None = None
) -> nexus_async.ArchiveError:
    with pytest.raises(nexus_async.ArchiveError) as caught:
        await project.annotations.download_exported_file("op_1", target, limits=limits)
    return caught.value


async def test_a_zip_bomb_is_refused_by_its_ratio_before_anything_is_written(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    bomb = zip_bomb(256 * MiB)
    assert len(bomb) < 300_000  # ~250 KB that would extract to 256 MiB
    serve(api, bomb)
    error = await refused(project, tmp_path / "out")
    assert "max_ratio" in str(error)
    assert error.entry == "bomb.csv"
    assert "ArchiveLimits" in str(error)  # says how to raise it
    assert tree(tmp_path) == []


async def test_the_total_uncompressed_size_is_bounded(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    serve(api, zip_bytes({"a.csv": b"a" * 600, "b.csv": b"b" * 600}))
    error = await refused(project, tmp_path / "out", nexus_async.ArchiveLimits(max_total_size=1000))
    assert "max_total_size" in str(error)
    assert tree(tmp_path) == []


async def test_an_archive_of_100_000_entries_is_refused_by_default(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    serve(api, many_entries(100_000))
    error = await refused(project, tmp_path / "out")
    assert "100000 entries, over max_entries (50000)" in str(error)
    assert tree(tmp_path) == []


async def test_an_endless_body_is_stopped_at_the_download_limit(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            sent.append(MiB)
            yield bytes(MiB)

    api.get(f"{P}/annotationexports/op_1").respond(json=export_state())
    api.get(ZIP_URL).mock(return_value=httpx.Response(200, stream=AsyncStream(endless())))
    limits = nexus_async.ArchiveLimits(max_download_bytes=8 * MiB)
    error = await refused(project, tmp_path / "out", limits)
    assert "max_download_bytes" in str(error)
    assert len(sent) <= 10  # stopped at the limit, not read to the end
    assert tree(tmp_path) == []


async def test_an_announced_length_over_the_limit_is_refused_before_reading(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    serve(api, zip_bytes({"a.csv": b"a" * 5000}))
    limits = nexus_async.ArchiveLimits(max_download_bytes=1000)
    assert "max_download_bytes" in str(await refused(project, tmp_path / "out", limits))
    assert tree(tmp_path) == []


async def test_windows_separators_are_normalised(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    serve(api, zip_bytes({"proj\\train.csv": b"t\n", "proj\\sub\\v.csv": b"v\n"}))
    local = await project.annotations.download_exported_file("op_1", tmp_path)
    assert local.file_names == ["proj/train.csv", "proj/sub/v.csv"]
    assert (tmp_path / "proj" / "sub" / "v.csv").read_bytes() == b"v\n"
    assert tree(tmp_path) == ["proj", "proj/sub", "proj/sub/v.csv", "proj/train.csv"]


def duplicate_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.csv", b"1")
        with pytest.warns(UserWarning, match="Duplicate"):
            archive.writestr("a.csv", b"2")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("archive", "reason", "entry"),
    [
        (lambda: zip_bytes({"a": b"file", "a/b": b"x"}), "both a file and a folder", "a"),
        (lambda: zip_bytes({"a/b": b"x", "a": b"file"}), "both a file and a folder", "a"),
        (duplicate_zip, "appears twice", "a.csv"),
        (lambda: zip_bytes({"a\\b.csv": b"1", "a/b.csv": b"2"}), "appears twice", "a/b.csv"),
        (lambda: zip_bytes({"x" * 256 + ".csv": b"1"}), "max_name_bytes", "x" * 256 + ".csv"),
        (lambda: zip_bytes({"/".join(["d" * 200] * 6): b"1"}), "max_path_bytes", None),
        (lambda: zip_bytes({"a\nb.csv": b"1"}), "control character", "a\nb.csv"),
    ],
    ids=[
        "file-then-folder",
        "folder-then-file",
        "duplicate",
        "duplicate-after-normalising",
        "long-component",
        "long-path",
        "newline",
    ],
)
async def test_clashes_duplicates_and_long_names_give_archive_errors(
    api: respx.MockRouter,
    project: Project,
    tmp_path: Path,
    archive: Callable[[], bytes],
    reason: str,
    entry: str | None,
) -> None:
    serve(api, archive())
    (tmp_path / "out").mkdir()
    error = await refused(project, tmp_path / "out")
    assert reason in str(error)
    if entry is not None:
        assert error.entry == entry
    assert tree(tmp_path) == ["out"]


async def test_a_clash_with_what_the_target_holds_gives_an_archive_error(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    serve(api, zip_bytes({"a/b.csv": b"1", "c.csv": b"2"}))
    (tmp_path / "a").write_text("a file where the archive wants a folder")
    error = await refused(project, tmp_path)
    assert "is a file in the target" in str(error)
    assert tree(tmp_path) == ["a"]


def test_limits_must_be_positive() -> None:
    with pytest.raises(nexus_async.InvalidInputError, match="max_entries"):
        nexus_async.ArchiveLimits(max_entries=0)
