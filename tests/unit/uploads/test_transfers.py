"""uploads/transfers.py on its own: bounded transfers, failures recorded per file, the
``keep_going`` rule, callback errors kept apart, and one UploadError naming every failure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

import nexus_async
from nexus_async import FailedFile, RetryPolicy, UploadError
from nexus_async.types.uploads import SignedUpload
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.storage import StorageClient
from nexus_async.uploads.transfers import (
    CallbackError,
    failures_as_upload_error,
    notify,
    send_to_signed_urls,
    transfer_each,
)
from tests.virtual_clock import VirtualClock

STORAGE = "https://storage.test"


class Boom(Exception):
    pass


async def test_transfer_each_sends_every_item_at_most_limit_at_once() -> None:
    running = 0
    most = 0
    done: list[int] = []
    gate = anyio.Event()

    async def send(item: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        if running == 3:
            gate.set()  # the pool is full: let everyone through
        await gate.wait()
        running -= 1
        done.append(item)

    failed: list[FailedFile] = []
    with anyio.fail_after(5):
        await transfer_each(range(10), send, limit=3, filename=str, failed=failed)
    assert sorted(done) == list(range(10))
    assert most == 3
    assert failed == []


async def test_the_first_failure_stops_the_rest_and_is_recorded_under_its_file() -> None:
    started: list[int] = []

    async def send(item: int) -> None:
        started.append(item)
        if item == 1:
            raise Boom("disk full")
        await anyio.sleep_forever()  # the others would run for ever: they must be cancelled

    failed: list[FailedFile] = []
    with anyio.fail_after(5), pytest.raises(Boom):
        await transfer_each(range(100), send, limit=2, filename=lambda i: f"{i}.png", failed=failed)
    assert [(f.filename, str(f.cause)) for f in failed] == [("1.png", "disk full")]
    assert len(started) == 2  # nothing new was started after the failure


async def test_keep_going_tries_every_item_and_records_each_failure() -> None:
    sent: list[int] = []

    async def send(item: int) -> None:
        if item % 3 == 0:
            raise Boom(f"no {item}")
        sent.append(item)

    failed: list[FailedFile] = []
    await transfer_each(range(7), send, limit=2, filename=str, failed=failed, keep_going=True)
    assert sorted(sent) == [1, 2, 4, 5]
    assert sorted(f.filename for f in failed) == ["0", "3", "6"]
    assert all(isinstance(f.cause, Boom) for f in failed)


async def test_a_callback_error_stops_even_with_keep_going_and_is_no_file_failure() -> None:
    async def send(item: int) -> None:
        notify(lambda value: 1 / 0, item)

    failed: list[FailedFile] = []
    with pytest.raises(CallbackError) as caught:
        await transfer_each(range(5), send, limit=1, filename=str, failed=failed, keep_going=True)
    assert isinstance(caught.value.error, ZeroDivisionError)
    assert failed == []


def test_notify_calls_the_callback_and_wraps_what_it_raises() -> None:
    seen: list[str] = []
    notify(seen.append, "a")
    notify(None, "ignored")
    assert seen == ["a"]
    with pytest.raises(CallbackError) as caught:
        notify(lambda value: int(value), "x")
    assert isinstance(caught.value.error, ValueError)
    assert caught.value.__cause__ is caught.value.error


def test_failures_become_one_upload_error_listing_them() -> None:
    failed = [FailedFile("a.png", Boom("one")), FailedFile("b.png", Boom("two"))]
    cause = Boom("one")
    with pytest.raises(UploadError) as caught, failures_as_upload_error(failed, "{count} bad"):
        raise cause
    error = caught.value
    assert error.failed == failed
    assert str(error) == "2 bad\n  a.png: one\n  b.png: two"
    assert error.__cause__ is cause


def test_an_error_with_no_failed_file_passes_unchanged() -> None:
    with pytest.raises(Boom, match="not a file"), failures_as_upload_error([], "{count} bad"):
        raise Boom("not a file")


def test_a_callback_error_comes_out_as_the_callback_s_own_exception() -> None:
    failed = [FailedFile("a.png", Boom("one"))]  # even with failed files around
    with pytest.raises(KeyError), failures_as_upload_error(failed, "{count} bad"):
        raise CallbackError(KeyError("mine"))


@pytest.fixture
async def storage(virtual_clock: VirtualClock) -> AsyncIterator[StorageClient]:
    policy = RetryPolicy(max_retries=1, sleep=virtual_clock.sleep)
    async with StorageClient(max_connections=4, retry_policy=policy) as client:
        yield client


def targets(tmp_path: Path, count: int) -> list[tuple[LocalFile, SignedUpload]]:
    pairs = []
    for i in range(count):
        path = tmp_path / f"{i}.json"
        path.write_bytes(f'{{"n": {i}}}'.encode())
        file = LocalFile(filename=path.name, size=path.stat().st_size, crc32c=0, path=path)
        upload = SignedUpload(
            method="PUT",
            url=f"{STORAGE}/imp/{i}.json?X-Goog-Signature=s3cr3t",
            headers={"x-goog-hash": f"crc32c=h{i}", "content-type": "application/json"},
        )
        pairs.append((file, upload))
    return pairs


async def test_each_file_goes_to_its_url_with_exactly_its_headers(
    api: respx.MockRouter, storage: StorageClient, tmp_path: Path
) -> None:
    route = api.put(url__startswith=f"{STORAGE}/imp/").respond(200)
    sent: list[str] = []
    pairs = targets(tmp_path, 3)
    await send_to_signed_urls(storage, pairs, limit=2, on_sent=lambda f: sent.append(f.filename))
    assert sorted(sent) == ["0.json", "1.json", "2.json"]
    by_url = {str(call.request.url): call.request for call in route.calls}
    for file, upload in pairs:
        request = by_url[upload.url]
        assert request.method == "PUT"
        assert request.content == file.path.read_bytes()  # type: ignore[union-attr]
        for name, value in upload.headers.items():
            assert request.headers[name] == value
        assert "secret-key" not in request.headers


async def test_a_refused_file_is_named_in_one_upload_error_without_the_signature(
    api: respx.MockRouter, storage: StorageClient, tmp_path: Path
) -> None:
    api.put(url__startswith=f"{STORAGE}/imp/").mock(
        side_effect=lambda request: httpx.Response(
            403 if request.url.path.endswith("/1.json") else 200, text="<Code>AccessDenied</Code>"
        )
    )
    with pytest.raises(UploadError) as caught:
        await send_to_signed_urls(storage, targets(tmp_path, 3), limit=1)
    error = caught.value
    assert [f.filename for f in error.failed] == ["1.json"]
    assert isinstance(error.failed[0].cause, nexus_async.StorageError)
    assert error.failed[0].cause.status_code == 403
    assert "1 file(s) could not be sent to storage" in str(error)
    assert "s3cr3t" not in str(error)


async def test_an_on_sent_callback_that_raises_surfaces_as_itself(
    api: respx.MockRouter, storage: StorageClient, tmp_path: Path
) -> None:
    api.put(url__startswith=f"{STORAGE}/imp/").respond(200)

    def on_sent(file: LocalFile) -> None:
        raise LookupError(file.filename)

    with pytest.raises(LookupError, match=r"0\.json"):
        await send_to_signed_urls(storage, targets(tmp_path, 2), limit=1, on_sent=on_sent)
