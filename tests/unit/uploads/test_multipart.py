"""uploads/multipart.py on its own: the part plan, one part's send-and-report loop, ETag
collection, completion, and the abort that follows any failure or cancellation."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

import nexus_async
from nexus_async import AsyncClient, RetryPolicy
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.multipart import PART_ATTEMPTS, part_ranges, upload_multipart
from nexus_async.uploads.storage import StorageClient
from tests.unit import payloads
from tests.unit.conftest import BASE_URL
from tests.virtual_clock import VirtualClock

P = f"{BASE_URL}/projects/{payloads.PROJECT_ID}"
MPU = f"{P}/multipartassetuploads/mpu_1"
STORAGE = "https://storage.test"
DATA = bytes(range(256)) * 40 + b"tail!"  # 10 245 bytes: the last part is longer


@pytest.fixture
async def storage(virtual_clock: VirtualClock) -> AsyncIterator[StorageClient]:
    policy = RetryPolicy(max_retries=2, sleep=virtual_clock.sleep)
    async with StorageClient(max_connections=4, retry_policy=policy) as client:
        yield client


@pytest.fixture
def big_file(tmp_path: Path) -> LocalFile:
    path = tmp_path / "big.mp4"
    path.write_bytes(DATA)
    return LocalFile(filename="big.mp4", size=len(DATA), crc32c=0, mime="video/mp4", path=path)


def signed_part(
    n: int, *, response_body: bool = False, headers: list[str] | None = None
) -> dict[str, Any]:
    return {
        "method": "PUT",
        "url": f"{STORAGE}/mpu_1/{n}?X-Goog-Signature=s3cr3t",
        "expiry": 1,
        "responseHeaders": ["ETag"] if headers is None else headers,
        "responseBody": response_body,
        "headers": {"content-type": "application/octet-stream"},
    }


@dataclass
class Server:
    """The API routes of one multipart upload (``mpu_1``), every call answered well."""

    start: respx.Route
    complete: respx.Route
    abort: respx.Route
    urls: dict[int, respx.Route]
    reports: dict[int, respx.Route]

    def assert_aborted(self) -> None:
        assert self.abort.call_count == 1
        assert not self.complete.called


def mock_server(api: respx.MockRouter, part_count: int, **signed: Any) -> Server:
    numbers = range(1, part_count + 1)
    return Server(
        start=api.post(f"{P}/assetuploadsessions/up_1/multipart").respond(
            json={"id": "mpu_1", "partCount": part_count}
        ),
        complete=api.post(f"{MPU}/complete").respond(json={"id": "mpu_1", "completed": True}),
        abort=api.delete(MPU).respond(json={"id": "mpu_1", "aborted": True}),
        urls={
            n: api.put(f"{MPU}/parts/{n}").respond(json=signed_part(n, **signed)) for n in numbers
        },
        reports={
            n: api.post(f"{MPU}/parts/{n}/complete").respond(
                json={"id": "mpu_1", "partNumber": n, "completed": True}
            )
            for n in numbers
        },
    )


def etag_storage(api: respx.MockRouter) -> respx.Route:
    return api.put(url__startswith=f"{STORAGE}/mpu_1/").mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"ETag": f'"etag-{request.url.path.rsplit("/", 1)[1]}"'}
        )
    )


async def run(
    client: AsyncClient,
    storage: StorageClient,
    file: LocalFile,
    *,
    part_concurrency: int = 2,
    **options: object,
) -> None:
    await upload_multipart(
        client._transport,
        storage,
        project_id=payloads.PROJECT_ID,
        session_id="up_1",
        file=file,
        part_concurrency=part_concurrency,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("size", "count"), [(10, 1), (10, 3), (10_245, 7), (5, 5), (1 << 40, 9)])
def test_part_plan_covers_the_file_once_in_order(size: int, count: int) -> None:
    ranges = part_ranges(size, count)
    assert len(ranges) == count
    assert ranges[0][0] == 0
    for (offset, length), (next_offset, _) in itertools.pairwise(ranges):
        assert offset + length == next_offset  # contiguous, no overlap
    assert sum(length for _, length in ranges) == size
    assert {length for _, length in ranges[:-1]} <= {size // count}
    assert ranges[-1][1] == size - (count - 1) * (size // count)  # the remainder goes last


@pytest.mark.parametrize(("size", "count"), [(10, 0), (10, -1), (3, 4)])
def test_an_impossible_part_plan_is_refused(size: int, count: int) -> None:
    with pytest.raises(ValueError, match="cannot split"):
        part_ranges(size, count)


async def test_every_part_is_sent_reported_with_its_etag_and_completed(
    api: respx.MockRouter, client: AsyncClient, storage: StorageClient, big_file: LocalFile
) -> None:
    server = mock_server(api, 3)
    parts = etag_storage(api)
    sent: list[int] = []
    await run(client, storage, big_file, on_bytes=sent.append)

    assert json.loads(server.start.calls.last.request.content) == {
        "filename": "big.mp4",
        "mime": "video/mp4",
        "size": len(DATA),
    }
    received = {call.request.url.path: call.request.content for call in parts.calls}
    plan = part_ranges(len(DATA), 3)
    assert [received[f"/mpu_1/{n}"] for n in (1, 2, 3)] == [DATA[o : o + n] for o, n in plan]
    for n in (1, 2, 3):
        report = server.reports[n].calls.last.request
        assert json.loads(report.content) == {"responseHeaders": {"ETag": f'"etag-{n}"'}}
    assert server.complete.call_count == 1
    assert not server.abort.called
    assert sorted(sent) == sorted(length for _, length in plan)


async def test_a_header_storage_did_not_send_is_reported_empty_and_a_body_when_asked(
    api: respx.MockRouter, client: AsyncClient, storage: StorageClient, big_file: LocalFile
) -> None:
    server = mock_server(api, 1, response_body=True, headers=["ETag", "x-goog-generation"])
    etag_storage(api)
    await run(client, storage, big_file)
    report = json.loads(server.reports[1].calls.last.request.content)
    assert report == {
        "responseHeaders": {"ETag": '"etag-1"', "x-goog-generation": ""},
        "responseBody": "",
    }


async def test_a_part_not_accepted_is_sent_again_with_a_new_url(
    api: respx.MockRouter, client: AsyncClient, storage: StorageClient, big_file: LocalFile
) -> None:
    server = mock_server(api, 1)
    api.post(f"{MPU}/parts/1/complete").mock(
        side_effect=[
            httpx.Response(200, json={"id": "mpu_1", "partNumber": 1, "completed": False}),
            httpx.Response(200, json={"id": "mpu_1", "partNumber": 1, "completed": True}),
        ]
    )
    parts = etag_storage(api)
    await run(client, storage, big_file)
    assert server.urls[1].call_count == 2
    assert [call.request.content for call in parts.calls] == [DATA, DATA]  # bytes re-read
    assert server.complete.called


async def test_a_part_never_accepted_fails_and_aborts(
    api: respx.MockRouter, client: AsyncClient, storage: StorageClient, big_file: LocalFile
) -> None:
    server = mock_server(api, 2)
    for n in (1, 2):
        server.reports[n].respond(json={"id": "mpu_1", "partNumber": n, "completed": False})
    etag_storage(api)
    with pytest.raises(nexus_async.APIError, match=f"not accepted after {PART_ATTEMPTS}"):
        # one part at a time: two parts failing together would raise both, as a group
        await run(client, storage, big_file, part_concurrency=1)
    assert server.urls[1].call_count == PART_ATTEMPTS
    assert not server.urls[2].called
    server.assert_aborted()


async def test_a_storage_failure_aborts_and_never_completes(
    api: respx.MockRouter, client: AsyncClient, storage: StorageClient, big_file: LocalFile
) -> None:
    server = mock_server(api, 3)
    api.put(url__startswith=f"{STORAGE}/mpu_1/").respond(403, text="<Code>AccessDenied</Code>")
    with pytest.raises(nexus_async.StorageError) as caught:
        await run(client, storage, big_file, part_concurrency=1)
    assert caught.value.status_code == 403
    assert "s3cr3t" not in str(caught.value)
    server.assert_aborted()


async def test_a_completion_the_server_refuses_aborts(
    api: respx.MockRouter, client: AsyncClient, storage: StorageClient, big_file: LocalFile
) -> None:
    server = mock_server(api, 2)
    api.post(f"{MPU}/complete").respond(json={"id": "mpu_1", "completed": False})
    etag_storage(api)
    with pytest.raises(nexus_async.APIError, match="was not completed"):
        await run(client, storage, big_file)
    assert server.abort.call_count == 1


async def test_an_abort_answered_404_is_fine_and_the_cause_propagates(
    api: respx.MockRouter, client: AsyncClient, storage: StorageClient, big_file: LocalFile
) -> None:
    mock_server(api, 1)
    abort = api.delete(MPU).respond(404, json={"code": "NotFound", "message": "gone"})
    api.put(url__startswith=f"{STORAGE}/mpu_1/").respond(403)
    with pytest.raises(nexus_async.StorageError):
        await run(client, storage, big_file)
    assert abort.call_count == 1


async def test_a_failed_abort_is_logged_and_never_hides_the_cause(
    api: respx.MockRouter,
    client: AsyncClient,
    storage: StorageClient,
    big_file: LocalFile,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock_server(api, 1)
    abort = api.delete(MPU).respond(500, json={"code": "Internal", "message": "down"})
    api.put(url__startswith=f"{STORAGE}/mpu_1/").respond(403)
    with (
        caplog.at_level(logging.WARNING, logger="nexus_async"),
        pytest.raises(nexus_async.StorageError),
    ):
        await run(client, storage, big_file)
    assert abort.call_count == 2  # one retry (max_retries=1), then it gives up
    assert any("Could not abort multipart upload mpu_1" in r.getMessage() for r in caplog.records)


async def test_cancelling_while_parts_are_in_flight_aborts(
    api: respx.MockRouter, client: AsyncClient, storage: StorageClient, big_file: LocalFile
) -> None:
    server = mock_server(api, 3)
    in_flight = anyio.Event()

    async def stalled_storage(request: httpx.Request) -> httpx.Response:
        in_flight.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    api.put(url__startswith=f"{STORAGE}/mpu_1/").mock(side_effect=stalled_storage)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(run, client, storage, big_file)
            await in_flight.wait()  # a part is being sent: cancel now
            group.cancel_scope.cancel()
    server.assert_aborted()


async def test_a_file_without_a_path_is_refused_before_any_request(
    api: respx.MockRouter, client: AsyncClient, storage: StorageClient
) -> None:
    file = LocalFile(filename="mem.mp4", size=10, crc32c=0, mime="video/mp4", data=bytes(10))
    with pytest.raises(ValueError, match="stream from a file path"):
        await run(client, storage, file)
    assert api.calls.call_count == 0
