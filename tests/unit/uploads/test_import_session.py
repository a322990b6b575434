"""The annotation import session's wire, pinned with respx: creation on entry, the /files body,
storage transfers with exactly the issued headers, the PATCH conditions, polling, the typed
error with log lines, re-raising and cancellation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

import nexus_async
from nexus_async import Project
from nexus_async._concurrency import task_group
from tests.unit import payloads
from tests.unit.conftest import BASE_URL

S = f"{BASE_URL}/projects/{payloads.PROJECT_ID}/annotationimportsessions"
STORAGE = "https://storage.test"
CSV = b"filename,xmin\n"  # CRC-32C 2+mBfA== (nexus-api.md §13.3)
INSERTED = {"status": {"conditions": [{"condition": "FilesInserted", "status": "Reached"}]}}
FAILED = {"status": {"conditions": [{"condition": "FilesProcessed", "status": "FailedReach"}]}}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """One router for the API and storage hosts."""
    with respx.mock(assert_all_called=False) as router:
        yield router


def echo_files(request: httpx.Request) -> httpx.Response:
    files = json.loads(request.content)["files"]
    return httpx.Response(
        200,
        json={
            "id": "annotsess_1",
            "projectId": payloads.PROJECT_ID,
            "files": [
                {
                    "filename": f["filename"],
                    "upload": {
                        "method": "PUT",
                        "url": f"{STORAGE}/imports/{f['filename']}?sig=s3cr3t",
                        "headers": {"x-goog-hash": f"crc32c={f['crc32c']}"},
                        "expiryDate": 1705468620676,
                    },
                }
                for f in files
            ],
        },
    )


class Server:
    """Routes of one import session: create, files, storage, patch, get, logs."""

    def __init__(self, api: respx.MockRouter, final: str = "Finished", *logs: str) -> None:
        self.create = api.post(S).respond(json=payloads.import_session())
        self.files = api.post(f"{S}/annotsess_1/files").mock(side_effect=echo_files)
        self.storage = api.put(url__startswith=f"{STORAGE}/imports/").respond(200)
        self.patch = api.patch(f"{S}/annotsess_1").respond(json=payloads.import_session())
        self.get = api.get(f"{S}/annotsess_1").mock(
            side_effect=[
                httpx.Response(200, json=payloads.import_session("Running")),
                httpx.Response(200, json=payloads.import_session(final)),
            ]
        )
        self.logs = api.get(f"{S}/annotsess_1/logs").respond(
            json=payloads.import_logs("annotsess_1", *logs)
        )

    def patches(self) -> list[object]:
        return [json.loads(call.request.content) for call in self.patch.calls]


async def test_wire_of_a_foreground_import(
    api: respx.MockRouter, project: Project, tmp_path: Path, sleeps: list[float]
) -> None:
    server = Server(api)
    (tmp_path / "labels" / "sub").mkdir(parents=True)
    (tmp_path / "labels" / "a.csv").write_bytes(CSV)
    (tmp_path / "labels" / "sub" / "b.JSON").write_bytes(b"{}")
    (tmp_path / "labels" / "skip.png").write_bytes(b"x")

    session = project.annotations.create_import_session()
    async with session:
        assert not server.create.called  # no I/O until the first files pass their checks
        await session.add_path(tmp_path / "labels")
        assert server.create.calls.last.request.content == b""
        await session.add_bytes(CSV, "extra.csv")

    bodies = [json.loads(call.request.content) for call in server.files.calls]
    assert bodies == [
        {
            "files": [
                {"filename": "a.csv", "size": 14, "crc32c": "2+mBfA=="},
                {"filename": "b.JSON", "size": 2, "crc32c": "KXvQqg=="},
            ]
        },
        {"files": [{"filename": "extra.csv", "size": 14, "crc32c": "2+mBfA=="}]},
    ]
    sent = {call.request.url.path: call.request for call in server.storage.calls}
    assert sorted(sent) == ["/imports/a.csv", "/imports/b.JSON", "/imports/extra.csv"]
    assert sent["/imports/a.csv"].content == CSV
    for request in sent.values():
        assert "secret-key" not in request.headers
        assert "content-type" not in request.headers
        assert request.headers["x-goog-hash"].startswith("crc32c=")
        assert request.headers["content-length"] == str(len(request.content))
    assert server.patches() == [INSERTED]
    assert server.get.call_count == 2  # polled until Finished
    assert session.id == "annotsess_1"
    assert len(session) == 3
    assert (await session.get_logs()).logs == []


async def test_errored_import_raises_with_the_log_lines(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    message = "At a.csv:19: Point 259.0, 259.0 is out of bounds."
    server = Server(api, "Errored", message)
    with pytest.raises(nexus_async.AnnotationImportError) as caught:
        async with project.annotations.create_import_session() as session:
            await session.add_bytes(CSV, "a.csv")
    assert caught.value.session_id == "annotsess_1"
    assert [log.message for log in caught.value.logs] == [message]
    assert message in str(caught.value)
    assert server.patches() == [INSERTED]


async def test_background_returns_after_the_patch_and_waits_on_demand(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    server = Server(api)
    session = project.annotations.create_import_session(background=True)
    async with session:
        await session.add_bytes(CSV, "a.csv")
    assert server.patches() == [INSERTED]
    assert not server.get.called
    done = await session.wait_until_done()
    assert done.status.overview == "Finished"


async def test_an_exception_in_the_block_marks_the_session_failed_and_is_reraised(
    api: respx.MockRouter, project: Project
) -> None:
    server = Server(api)
    boom = RuntimeError("boom")
    with pytest.raises(RuntimeError) as caught:
        async with project.annotations.create_import_session() as session:
            await session.add_bytes(CSV, "a.csv")
            raise boom
    assert caught.value is boom
    assert server.patches() == [FAILED]
    assert not server.get.called


async def test_cancellation_in_the_block_still_marks_the_session_failed(
    api: respx.MockRouter, project: Project
) -> None:
    server = Server(api)
    with anyio.CancelScope() as scope:  # cancelled once the file is in, not after a guess
        async with project.annotations.create_import_session() as session:
            await session.add_bytes(CSV, "a.csv")
            scope.cancel()
            await anyio.sleep(10)
    assert scope.cancelled_caught
    assert server.patches() == [FAILED]


async def test_a_storage_failure_names_the_file_and_fails_the_session(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    server = Server(api)
    server.storage.respond(403, text="<Error><Code>AccessDenied</Code></Error>")
    with pytest.raises(nexus_async.UploadError) as caught:
        async with project.annotations.create_import_session() as session:
            await session.add_bytes(CSV, "a.csv")
    assert [f.filename for f in caught.value.failed] == ["a.csv"]
    assert isinstance(caught.value.failed[0].cause, nexus_async.StorageError)
    assert "s3cr3t" not in str(caught.value)
    assert server.patches() == [FAILED]


async def test_local_checks_fail_before_sending(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    server = Server(api)
    with pytest.raises(nexus_async.DuplicateFilenameError, match=r"a\.csv"):
        async with project.annotations.create_import_session() as session:
            await session.add_bytes(CSV, "a.csv")
            await session.add_bytes(CSV, "a.csv")
    assert server.files.call_count == 1
    assert server.patches() == [FAILED]  # the session the first file created is closed

    api.reset()  # forget the calls above
    for i in range(3):
        (tmp_path / f"{i}.csv").write_bytes(CSV)
    with pytest.raises(nexus_async.InvalidInputError, match="at most 2 files"):
        async with project.annotations.create_import_session(max_files=2) as session:
            await session.add_path(tmp_path)
    assert not server.create.called  # refused before any request: no session left behind
    assert not server.files.called
    assert server.patches() == []


async def test_the_default_limit_is_1000_files_per_session(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    server = Server(api)
    for i in range(1001):
        (tmp_path / f"{i:04d}.csv").write_bytes(b"x")
    with pytest.raises(nexus_async.InvalidInputError, match="at most 1000 files"):
        async with project.annotations.create_import_session() as session:
            await session.add_path(tmp_path)
    assert not server.files.called


async def test_more_than_1000_files_go_in_several_requests(
    api: respx.MockRouter, project: Project, tmp_path: Path, sleeps: list[float]
) -> None:
    server = Server(api)
    for i in range(1001):
        (tmp_path / f"{i:04d}.txt").write_bytes(b"x")
    async with project.annotations.create_import_session(max_files=2000) as session:
        await session.add_path(tmp_path)
    sizes = [len(json.loads(call.request.content)["files"]) for call in server.files.calls]
    assert sizes == [1000, 1]
    assert server.storage.call_count == 1001


async def test_an_empty_session_is_refused_without_any_request(
    api: respx.MockRouter, project: Project
) -> None:
    server = Server(api)
    with pytest.raises(nexus_async.InvalidInputError, match="no annotation files"):
        async with project.annotations.create_import_session():
            pass
    assert not server.create.called
    assert server.patches() == []


async def test_an_echo_with_other_file_names_is_refused(
    api: respx.MockRouter, project: Project
) -> None:
    server = Server(api)
    server.files.mock(
        side_effect=lambda request: httpx.Response(
            200,
            json={"id": "annotsess_1", "projectId": payloads.PROJECT_ID, "files": []},
        )
    )
    with pytest.raises(nexus_async.APIResponseError, match="did not return exactly"):
        async with project.annotations.create_import_session() as session:
            await session.add_bytes(CSV, "a.csv")
    assert not server.storage.called
    assert server.patches() == [FAILED]


async def test_adding_outside_the_block_or_entering_twice_is_refused(
    api: respx.MockRouter, project: Project
) -> None:
    Server(api, "Finished")
    session = project.annotations.create_import_session(background=True)
    with pytest.raises(nexus_async.InvalidInputError, match="inside `async with"):
        await session.add_bytes(CSV, "a.csv")
    for name, error in [
        ("labels", nexus_async.UnsupportedFileError),
        ("", nexus_async.InvalidInputError),
        ("dir/a.csv", nexus_async.InvalidInputError),
    ]:
        with pytest.raises(error):
            async with project.annotations.create_import_session() as bad:
                await bad.add_bytes(CSV, name)
    with pytest.raises(nexus_async.InvalidInputError, match="no server session yet"):
        await session.get_logs()
    async with session:
        await session.add_bytes(CSV, "a.csv")
        with pytest.raises(nexus_async.InvalidInputError, match="leave the `async with` block"):
            await session.wait_until_done()
    with pytest.raises(nexus_async.InvalidInputError, match="only once"):
        async with session:
            pass
    with pytest.raises(nexus_async.InvalidInputError, match="max_files"):
        project.annotations.create_import_session(max_files=0)


async def test_a_cancellation_during_creation_still_closes_the_created_session(
    api: respx.MockRouter, project: Project
) -> None:
    server = Server(api)
    body_ran = False
    with anyio.CancelScope() as scope:

        def cancel_then_answer(request: httpx.Request) -> httpx.Response:
            scope.cancel()  # the caller is cancelled while the POST is in flight
            return httpx.Response(200, json=payloads.import_session())

        server.create.mock(side_effect=cancel_then_answer)
        async with project.annotations.create_import_session() as session:
            await session.add_bytes(CSV, "a.csv")  # creates the server session
            body_ran = True
    assert scope.cancelled_caught
    assert not body_ran
    assert not server.files.called
    assert server.patches() == [FAILED]  # the session we learnt of is not left open


async def test_concurrent_adds_cannot_together_pass_the_limit(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    server = Server(api)
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        for i in range(2):
            (tmp_path / folder / f"{folder}{i}.csv").write_bytes(CSV)
    session = project.annotations.create_import_session(max_files=3)
    with pytest.raises(nexus_async.InvalidInputError, match="at most 3 files"):
        async with session, task_group() as group:
            group.start_soon(session.add_path, tmp_path / "one")
            group.start_soon(session.add_path, tmp_path / "two")
    sent = [
        f["filename"] for c in server.files.calls for f in json.loads(c.request.content)["files"]
    ]
    assert len(sent) == 2  # the second folder was refused before it was announced
    assert server.patches() == [FAILED]
