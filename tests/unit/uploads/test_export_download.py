"""Exports with respx: the foreground wait, the download (no API headers, streamed to disk),
safe extraction (zip slip, symlinks, corrupt archives refused with nothing extracted), and the
typed errors for running and failed exports."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

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
