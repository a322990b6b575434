"""Every storage guarantee on every engine, over real sockets to a local host (``origin.py``):
the exact request on the wire, re-read ranges on retry, error details and redaction, downloads
with CRC checks, cancellation storms, and how the engine is chosen."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from nexus_async import AsyncClient, ConfigurationError, InvalidInputError, StorageError
from nexus_async._retry import RetryPolicy
from nexus_async.uploads.checksums import crc32c, x_goog_hash
from nexus_async.uploads.storage import EngineOptions, StorageClient, StorageEngine
from nexus_async.uploads.storage.aiohttp_engine import AiohttpEngine
from nexus_async.uploads.storage.bodies import FileRange
from nexus_async.uploads.storage.engine import build_engine
from nexus_async.uploads.storage.httpx_engine import HttpxEngine
from tests.unit.uploads.origin import DROP, Delay, Origin, Received, reply

pytest.importorskip("aiohttp")

ENGINES = ["httpx", "aiohttp"]
# A signed query with characters a client could re-encode ('%2F', '+', '~'): must arrive as is.
SIGNED = (
    "/bucket/up_1/a%20b.png?X-Goog-Algorithm=GOOG4-RSA-SHA256"
    "&X-Goog-Credential=sa%40p.iam%2F20240101%2Fauto%2Fstorage%2Fgoog4_request"
    "&X-Goog-Signature=s3cr3t+sig~0&token=abc"
)
BODY = bytes(range(256)) * 4


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    host = Origin()
    server = await asyncio.start_server(host.serve, "127.0.0.1", 0)
    host.port = server.sockets[0].getsockname()[1]
    async with server:
        yield host
        host.close_connections()
    await asyncio.sleep(0)


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "a.png"
    path.write_bytes(BODY)
    return path


def storage_on(engine: str, **options: object) -> StorageClient:
    return StorageClient(engine=engine, max_connections=4, **options)  # type: ignore[arg-type]


def assert_exact(requests: list[Received], body: bytes, *, content_type: str | None = None) -> None:
    assert requests
    for request in requests:
        assert request.method == "PUT"
        assert request.target == SIGNED  # byte for byte: the signature still matches
        assert request.header("content-length") == [str(len(body))]
        assert request.header("transfer-encoding") == []
        assert request.header("secret-key") == []
        assert request.header("content-type") == ([content_type] if content_type else [])
        assert request.body == body


@pytest.mark.parametrize("engine", ENGINES)
async def test_bytes_go_out_exactly_as_given(origin: Origin, engine: str) -> None:
    async with storage_on(engine) as storage:
        headers = await storage.send_bytes("PUT", origin.url(SIGNED), {}, BODY)
        typed = await storage.send_bytes(
            "PUT", origin.url(SIGNED), {"Content-Type": "image/png"}, BODY
        )
    assert headers.get("etag") == headers.get("ETag") == '"e"'
    assert typed["Etag"] == '"e"'
    assert_exact(origin.received[:1], BODY)
    assert_exact(origin.received[1:], BODY, content_type="image/png")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("small_body_size", "read_on_loop"), [(0, 0), (10_000, 0), (10_000, 10_000)]
)
async def test_file_ranges_go_out_exactly(
    origin: Origin, body_file: Path, engine: str, small_body_size: int, read_on_loop: int
) -> None:
    options = {"small_body_size": small_body_size, "read_on_loop_max_size": read_on_loop}
    async with storage_on(engine, chunk_size=100, **options) as storage:
        await storage.send_file("PUT", origin.url(SIGNED), {}, body_file, offset=300, length=333)
    assert_exact(origin.received, BODY[300:633])


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_retry_rereads_the_range(
    origin: Origin, body_file: Path, engine: str, no_sleep: list[float]
) -> None:
    origin.script.extend([reply(503), DROP])
    async with storage_on(engine, chunk_size=100, small_body_size=0) as storage:
        await storage.send_file("PUT", origin.url(SIGNED), {}, body_file, offset=100)
    assert len(origin.received) == 3
    assert_exact(origin.received, BODY[100:])
    assert len(no_sleep) == 2


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_xml_error_is_detailed_redacted_and_not_retried(
    origin: Origin, engine: str, no_sleep: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    xml = (
        "<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code>"
        f"<Message>bad sig</Message><Details>{origin.url(SIGNED)}</Details></Error>"
    )
    origin.script.append(reply(403, xml.encode()))
    caplog.set_level(logging.DEBUG)
    async with storage_on(engine) as storage:
        with pytest.raises(StorageError) as caught:
            await storage.send_bytes("PUT", origin.url(SIGNED), {}, BODY)
    error = caught.value
    assert (error.status_code, len(origin.received), no_sleep) == (403, 1, [])
    assert "SignatureDoesNotMatch: bad sig" in str(error)
    assert error.url == origin.url("/bucket/up_1/a%20b.png")
    assert "s3cr3t" not in str(error)
    assert "token" not in str(error)
    assert all("s3cr3t" not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("engine", ENGINES)
async def test_no_signature_in_any_log_record_nor_in_connection_errors(
    origin: Origin, engine: str, no_sleep: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger of every library, INFO lines included
    origin.script.append(reply(500, b"oops"))
    closed = f"http://127.0.0.1:1{SIGNED}"  # nothing listens on port 1
    async with storage_on(engine, retry_policy=RetryPolicy(max_retries=1)) as storage:
        await storage.send_bytes("PUT", origin.url(SIGNED), {}, BODY)  # retried once, then 200
        origin.default = DROP  # (aiohttp resends a bytes body once by itself, RFC 9112 9.3.1)
        with pytest.raises(StorageError) as dropped:
            await storage.send_bytes("PUT", origin.url(SIGNED), {}, BODY)
        with pytest.raises(StorageError) as refused:
            await storage.send_bytes("PUT", closed, {}, BODY)
    for error in (dropped.value, refused.value):
        assert error.status_code is None
        assert "s3cr3t" not in str(error)
        assert "token=" not in str(error)
    assert refused.value.url == "http://127.0.0.1:1/bucket/up_1/a%20b.png"
    assert caplog.records, "the retries are logged"
    for record in caplog.records:
        assert "s3cr3t" not in record.getMessage()
        assert "token=" not in record.getMessage()
    assert logging.getLogger("httpx").filters == []  # nothing process-wide was changed


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_file_that_shrinks_mid_upload_says_so(
    origin: Origin, body_file: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "nexus_async.uploads.storage.client.read_range_sync", lambda *args: len(BODY) + 10
    )
    async with storage_on(engine, retry_policy=RetryPolicy(max_retries=0)) as storage:
        with pytest.raises(InvalidInputError, match="shrank"):
            await storage.send_file("PUT", origin.url(SIGNED), {}, body_file)


@pytest.mark.parametrize("engine", ENGINES)
async def test_downloads_verify_the_crc_and_leave_nothing_on_failure(
    origin: Origin, tmp_path: Path, engine: str, no_sleep: list[float]
) -> None:
    declared = {"x-goog-hash": "md5=xx, " + x_goog_hash(crc32c(BODY))}
    origin.script.extend(
        [
            reply(200, b"corrupt", declared),
            reply(200, BODY, declared),
            reply(404, b"<Error><Code>NoSuchKey</Code></Error>"),
            reply(200, BODY),
        ]
    )
    dest = tmp_path / "out.zip"
    async with storage_on(engine, chunk_size=100) as storage:
        assert await storage.download(origin.url(SIGNED), dest) == len(BODY)
        assert dest.read_bytes() == BODY
        assert len(no_sleep) == 1  # the corrupt body was retried
        with pytest.raises(StorageError, match="NoSuchKey") as caught:
            await storage.download(origin.url(SIGNED), tmp_path / "missing.zip")
        with pytest.raises(OverflowError):
            await storage.download(origin.url(SIGNED), tmp_path / "big.zip", max_bytes=10)
    assert caught.value.status_code == 404
    assert [p.name async for p in anyio.Path(tmp_path).iterdir()] == ["out.zip"]
    assert [r.method for r in origin.received] == ["GET"] * 4
    assert all(r.target == SIGNED and not r.header("secret-key") for r in origin.received)


@pytest.mark.parametrize("engine", ENGINES)
async def test_cancellation_storm_leaves_every_slot_usable(origin: Origin, engine: str) -> None:
    rng = random.Random(7)
    origin.default = Delay(0.002, reply(200))
    storage = StorageClient(
        engine=engine,  # type: ignore[arg-type]
        max_connections=4,
        connections_per_client=2,
        retry_policy=RetryPolicy(max_retries=0),
    )
    async with storage:

        async def impatient() -> None:
            for _ in range(25):
                timeout = rng.uniform(0, 0.004)  # lands in every phase of a transfer
                with contextlib.suppress(asyncio.TimeoutError, StorageError):
                    await asyncio.wait_for(
                        storage.send_bytes("PUT", origin.url(SIGNED), {}, BODY), timeout
                    )

        await asyncio.gather(*(impatient() for _ in range(20)))
        origin.default = reply(200)
        with anyio.fail_after(10):
            await asyncio.gather(
                *(storage.send_bytes("PUT", origin.url(SIGNED), {}, BODY) for _ in range(16))
            )
        engine_object = storage.engine
        if isinstance(engine_object, HttpxEngine):
            pools = [t._pool for t in engine_object._transports]  # type: ignore[attr-defined]
            assert all(pool._requests == [] for pool in pools)
            assert engine_object._busy == [0, 0]
        else:
            connector = engine_object._session.connector  # type: ignore[attr-defined]
            assert not connector._acquired


async def test_auto_is_aiohttp_on_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the unit tests' fixture pins "auto" to httpx for respx
    options = EngineOptions(4, 2, 1.0, 1.0, 1.0)
    engine = build_engine("auto", options)
    try:
        assert type(engine).__name__ == "AiohttpEngine"
    finally:
        await engine.aclose()


def test_auto_is_httpx_under_trio() -> None:
    pytest.importorskip("trio")

    async def main() -> str:
        async with StorageClient() as storage:
            return type(storage.engine).__name__

    assert anyio.run(main, backend="trio") == "HttpxEngine"
    with pytest.raises(ConfigurationError, match="asyncio only"):
        anyio.run(lambda: StorageClient(engine="aiohttp").engine.aclose(), backend="trio")


async def test_an_engine_is_chosen_by_name_factory_or_instance(origin: Origin) -> None:
    seen: list[EngineOptions] = []

    def factory(options: EngineOptions) -> HttpxEngine:
        seen.append(options)
        return HttpxEngine(options)

    async with StorageClient(engine=factory, max_connections=3) as storage:
        await storage.send_bytes("PUT", origin.url(SIGNED), {}, b"x")
    assert [o.max_connections for o in seen] == [3]
    shared = HttpxEngine(seen[0])
    for _ in range(2):  # a given engine is the caller's to close: it outlives each client
        async with StorageClient(engine=shared) as storage:
            await storage.send_bytes("PUT", origin.url(SIGNED), {}, b"y")
    await shared.aclose()
    with pytest.raises(ConfigurationError, match="storage_engine must be one of"):
        StorageClient(engine="curl")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="storage_engine must be one of"):
        AsyncClient("key", endpoint="http://127.0.0.1:1", storage_engine="curl")  # type: ignore[arg-type]


async def test_the_client_option_reaches_the_transfers() -> None:
    async with AsyncClient("key", endpoint="http://127.0.0.1:1", storage_engine="httpx") as c:
        assert c._transport.storage_engine == "httpx"
        assert c.with_options(timeout=5)._transport.storage_engine == "httpx"


async def test_a_streamed_body_is_never_sent_twice_by_the_library(body_file: Path) -> None:
    async with await anyio.open_file(body_file, "rb") as file:
        body = FileRange(file, body_file, len(BODY), 100)
        assert b"".join([chunk async for chunk in body]) == BODY
        with pytest.raises(RuntimeError, match="cannot be sent twice"):
            _ = [chunk async for chunk in body]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("size", [10, 32 << 20], ids=["small", "large"])
async def test_a_host_that_stops_reading_times_out_instead_of_hanging(
    engine: str, size: int
) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # then reads no body and never answers
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        writer.close()

    def impatient(options: EngineOptions) -> StorageEngine:
        options = dataclasses.replace(options, read_timeout=0.5)
        return HttpxEngine(options) if engine == "httpx" else AiohttpEngine(options)

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}{SIGNED}"
    async with server:
        storage = StorageClient(engine=impatient, retry_policy=RetryPolicy(max_retries=0))
        async with storage:
            with anyio.fail_after(10), pytest.raises(StorageError, match="timed out") as caught:
                await storage.send_bytes("PUT", url, {}, b"x" * size)
        assert "s3cr3t" not in str(caught.value)
        server.close()
