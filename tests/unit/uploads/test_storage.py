from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
import respx

from nexus_async import InvalidInputError, StorageError
from nexus_async._constants import STORAGE_MAX_RETRIES
from nexus_async._retry import RetryPolicy
from nexus_async.uploads.checksums import crc32c, x_goog_hash
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.storage import StorageClient, redact_url

URL = "https://storage.example/bucket/up_1/a.png?X-Goog-Signature=s3cr3t&token=abc"
BASE = "https://storage.example/bucket/up_1/a.png"
BODY = bytes(range(256)) * 4  # 1024 bytes
HEADERS = {"content-type": "image/png", "x-goog-hash": x_goog_hash(crc32c(BODY))}


@pytest.fixture
async def storage() -> StorageClient:
    client = StorageClient(max_connections=4, chunk_size=100, small_body_size=512)
    yield client  # type: ignore[misc]
    await client.aclose()


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "a.png"
    path.write_bytes(BODY)
    return path


def assert_wire(request: httpx.Request, body: bytes, *, content_type: str | None) -> None:
    assert request.method == "PUT"
    assert str(request.url) == URL
    assert request.headers["content-length"] == str(len(body))
    assert "transfer-encoding" not in request.headers
    assert "secret-key" not in request.headers
    assert request.headers.get("content-type") == content_type
    assert request.content == body


@respx.mock
async def test_send_bytes_exact_request(storage: StorageClient) -> None:
    route = respx.put(URL).mock(return_value=httpx.Response(200, headers={"ETag": '"e1"'}))
    headers = await storage.send_bytes("PUT", URL, HEADERS, BODY)
    assert headers["etag"] == '"e1"'
    (call,) = route.calls
    assert_wire(call.request, BODY, content_type="image/png")
    assert call.request.headers["x-goog-hash"] == HEADERS["x-goog-hash"]


@respx.mock
async def test_no_content_type_unless_given(storage: StorageClient) -> None:
    route = respx.put(URL).mock(return_value=httpx.Response(200))
    await storage.send_bytes("PUT", URL, {}, b"")
    assert_wire(route.calls[0].request, b"", content_type=None)


@respx.mock
@pytest.mark.parametrize("small_body_size", [0, 10_000], ids=["streamed", "inline"])
async def test_send_file_whole(body_file: Path, small_body_size: int) -> None:
    route = respx.put(URL).mock(return_value=httpx.Response(200))
    async with StorageClient(chunk_size=100, small_body_size=small_body_size) as storage:
        await storage.send_file("PUT", URL, HEADERS, body_file)
    assert_wire(route.calls[0].request, BODY, content_type="image/png")


@respx.mock
@pytest.mark.parametrize("small_body_size", [0, 10_000], ids=["streamed", "inline"])
async def test_send_file_middle_range(body_file: Path, small_body_size: int) -> None:
    route = respx.put(URL).mock(return_value=httpx.Response(200, headers={"ETag": "p2"}))
    async with StorageClient(chunk_size=64, small_body_size=small_body_size) as storage:
        headers = await storage.send_file("PUT", URL, {}, body_file, offset=300, length=333)
    assert headers["ETag"] == "p2"
    assert_wire(route.calls[0].request, BODY[300:633], content_type=None)


@respx.mock
async def test_range_outside_file(storage: StorageClient, body_file: Path) -> None:
    route = respx.put(URL).mock(return_value=httpx.Response(200))
    with pytest.raises(InvalidInputError, match="not 2000"):
        await storage.send_file("PUT", URL, {}, body_file, offset=0, length=2000)
    with pytest.raises(InvalidInputError, match="outside"):
        await storage.send_file("PUT", URL, {}, body_file, offset=5000)
    assert not route.called


@respx.mock
async def test_retry_after_503_rereads_the_range(
    storage: StorageClient, body_file: Path, no_sleep: list[float]
) -> None:
    route = respx.put(URL).mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    await storage.send_file("PUT", URL, HEADERS, body_file, offset=100)  # streamed (>512)
    assert len(route.calls) == 2
    for call in route.calls:
        assert_wire(call.request, BODY[100:], content_type="image/png")
    assert len(no_sleep) == 1


@respx.mock
async def test_retry_after_connection_error(
    storage: StorageClient, body_file: Path, no_sleep: list[float]
) -> None:
    route = respx.put(URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(200)]
    )
    await storage.send_file("PUT", URL, {}, body_file, length=100)  # inline
    assert len(route.calls) == 3
    for call in route.calls:
        assert call.request.content == BODY[:100]
    assert len(no_sleep) == 2


@respx.mock
async def test_403_not_retried_and_redacted(
    storage: StorageClient, body_file: Path, no_sleep: list[float]
) -> None:
    xml = (
        "<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message>"
        f"<Details>{URL}</Details></Error>"
    )
    route = respx.put(URL).mock(return_value=httpx.Response(403, text=xml))
    with pytest.raises(StorageError) as info:
        await storage.send_file("PUT", URL, HEADERS, body_file)
    error = info.value
    assert route.call_count == 1
    assert no_sleep == []
    assert error.status_code == 403
    assert error.url == BASE
    assert "SignatureDoesNotMatch: bad sig" in str(error)
    assert "s3cr3t" not in str(error)
    assert "token" not in str(error)


@respx.mock
async def test_retries_exhausted(body_file: Path, no_sleep: list[float]) -> None:
    route = respx.put(URL).mock(return_value=httpx.Response(500, text="oops " + URL))
    async with StorageClient(retry_policy=RetryPolicy(max_retries=2)) as storage:
        with pytest.raises(StorageError, match="HTTP 500") as info:
            await storage.send_bytes("PUT", URL, {}, BODY)
    assert route.call_count == 3
    assert info.value.status_code == 500
    assert "s3cr3t" not in str(info.value)


@respx.mock
async def test_connection_error_message_redacted(
    storage: StorageClient, no_sleep: list[float]
) -> None:
    respx.put(URL).mock(side_effect=httpx.ConnectError(f"cannot reach {URL}"))
    with pytest.raises(StorageError) as info:
        await storage.send_bytes("PUT", URL, {}, BODY)
    assert info.value.status_code is None
    assert info.value.url == BASE
    assert "ConnectError" in str(info.value)
    assert "s3cr3t" not in str(info.value)
    assert len(no_sleep) == STORAGE_MAX_RETRIES  # storage's own, larger budget


@respx.mock
@pytest.mark.parametrize("name", ["Secret-Key", "secret-key", "SECRET-KEY"])
async def test_secret_key_refused(storage: StorageClient, name: str) -> None:
    route = respx.put(URL).mock(return_value=httpx.Response(200))
    with pytest.raises(InvalidInputError, match="refusing"):
        await storage.send_bytes("PUT", URL, {name: "k"}, BODY)
    assert not route.called


@respx.mock
async def test_declared_content_length_checked(storage: StorageClient) -> None:
    route = respx.put(URL).mock(return_value=httpx.Response(200))
    await storage.send_bytes("PUT", URL, {"content-length": str(len(BODY))}, BODY)
    assert route.calls[0].request.headers.get_list("content-length") == [str(len(BODY))]
    with pytest.raises(InvalidInputError, match="expects 82 bytes"):
        await storage.send_bytes("PUT", URL, {"content-length": "82"}, BODY)


@respx.mock
async def test_send_local_file(storage: StorageClient, body_file: Path) -> None:
    route = respx.put(URL).mock(return_value=httpx.Response(200))
    from_path = LocalFile(filename="a.png", size=len(BODY), crc32c=crc32c(BODY), path=body_file)
    from_bytes = LocalFile(filename="b.png", size=3, crc32c=crc32c(b"abc"), data=b"abc")
    await storage.send_local_file("PUT", URL, {}, from_path)
    await storage.send_local_file("PUT", URL, {}, from_bytes)
    assert [c.request.content for c in route.calls] == [BODY, b"abc"]
    with pytest.raises(InvalidInputError, match="neither"):
        await storage.send_local_file("PUT", URL, {}, LocalFile(filename="c", size=0, crc32c=0))


@respx.mock
async def test_download_streams_to_disk(storage: StorageClient, tmp_path: Path) -> None:
    route = respx.get(URL).mock(
        return_value=httpx.Response(
            200, content=BODY, headers={"x-goog-hash": "md5=xx, " + x_goog_hash(crc32c(BODY))}
        )
    )
    dest = tmp_path / "out.zip"
    assert await storage.download(URL, dest) == len(BODY)
    assert dest.read_bytes() == BODY
    assert not (tmp_path / "out.zip.part").exists()
    assert "secret-key" not in route.calls[0].request.headers


@respx.mock
async def test_download_crc_mismatch_retried(
    storage: StorageClient, tmp_path: Path, no_sleep: list[float]
) -> None:
    bad = httpx.Response(
        200, content=b"corrupt", headers={"x-goog-hash": x_goog_hash(crc32c(BODY))}
    )
    good = httpx.Response(200, content=BODY, headers={"x-goog-hash": x_goog_hash(crc32c(BODY))})
    route = respx.get(URL).mock(side_effect=[bad, good])
    dest = tmp_path / "out.bin"
    assert await storage.download(URL, dest) == len(BODY)
    assert route.call_count == 2
    assert dest.read_bytes() == BODY


@respx.mock
async def test_download_error_leaves_nothing(
    storage: StorageClient, tmp_path: Path, no_sleep: list[float]
) -> None:
    respx.get(URL).mock(
        return_value=httpx.Response(404, text="<Error><Code>NoSuchKey</Code></Error>")
    )
    dest = tmp_path / "out.bin"
    with pytest.raises(StorageError, match="NoSuchKey") as info:
        await storage.download(URL, dest)
    assert info.value.status_code == 404
    assert "s3cr3t" not in str(info.value)
    assert no_sleep == []
    assert not dest.exists()
    assert not (tmp_path / "out.bin.part").exists()


def test_sharding_and_limits() -> None:
    storage = StorageClient(max_connections=20)
    assert storage.client_count == 3
    assert StorageClient(max_connections=8).client_count == 1
    assert StorageClient(max_connections=3, connections_per_client=1).client_count == 3
    with pytest.raises(ValueError, match="at least 1"):
        StorageClient(max_connections=0)


async def test_injected_transport_spreads_over_clients() -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200)

    async with StorageClient(
        max_connections=4, connections_per_client=2, transport=httpx.MockTransport(handler)
    ) as storage:
        assert storage.client_count == 2
        await storage.send_bytes("PUT", URL, {}, b"one")
        await storage.send_bytes("POST", URL, {}, b"two")
    assert seen == [b"one", b"two"]


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        (URL, BASE),
        (
            "http://user:pw@127.0.0.1:8080/_storage/x?token=9c1e#frag",
            "http://127.0.0.1:8080/_storage/x",
        ),
        ("https://[::1]:9000/a/b?sig=1", "https://[::1]:9000/a/b"),
        ("http://host:notaport/x?y", "<unparseable URL>"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
    assert redact_url(httpx.URL(url) if "notaport" not in url else url) == redacted


async def test_concurrency_bounded_by_max_connections(body_file: Path) -> None:

    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200)

    async with (
        StorageClient(
            max_connections=3,
            small_body_size=0,
            chunk_size=256,
            transport=httpx.MockTransport(handler),
        ) as storage,
        anyio.create_task_group() as group,
    ):
        for _ in range(10):
            group.start_soon(storage.send_file, "PUT", URL, {}, body_file)
    assert peak == 3


async def test_file_shrinking_mid_upload(body_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "nexus_async.uploads.storage.client.read_range_sync", lambda *args: len(BODY) + 10
    )
    async with StorageClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as s:
        with pytest.raises(InvalidInputError, match="shrank"):
            await s.send_file("PUT", URL, {}, body_file)


def test_default_ssl_context_is_built_once_per_process() -> None:
    # Building one costs 12-17 ms on the event loop; every StorageClient must share it.
    from nexus_async._http import default_ssl_context

    assert default_ssl_context() is default_ssl_context()


@respx.mock
async def test_a_pool_wait_that_runs_out_names_the_storage_pool() -> None:
    from nexus_async import PoolTimeoutError

    respx.put(URL).mock(side_effect=httpx.PoolTimeout("no connection"))
    async with StorageClient(
        max_connections=4, connections_per_client=2, retry_policy=RetryPolicy(max_retries=0)
    ) as storage:
        with pytest.raises(PoolTimeoutError) as caught:
            await storage.send_bytes("PUT", URL, HEADERS, BODY)
    assert caught.value.pool == "storage"
    assert "storage pool (2 connections)" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
