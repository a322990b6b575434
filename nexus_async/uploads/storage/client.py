"""Transfers to and from signed storage URLs: the ONE streaming implementation that asset
uploads, multipart parts, annotation imports, NDJSON datasets and export downloads all use
(nexus-api.md §13).

* Requests go through a :mod:`storage engine <nexus_async.uploads.storage.engine>` (aiohttp
  on asyncio, httpx elsewhere); everything below holds the same on every engine.
* At most ``max_connections`` transfers are in flight at once. No API credentials are ever
  sent: a header named ``Secret-Key`` is refused outright.
* Bodies are sent with an explicit ``Content-Length`` (never chunked): small ones as bytes,
  larger ones streamed from disk in ``chunk_size`` reads. Memory stays at
  ``max_connections * max(chunk_size, small_body_size)`` whatever the file sizes.
* Each attempt re-reads its byte range from disk, so a retry (connection failure, 408, 429, 5xx,
  per :class:`~nexus_async._retry.RetryPolicy`) resends exactly the same bytes.
* A signed URL's query string is its credential: it never appears in exceptions or logs
  (:func:`redact_url`), and no engine logs request URLs.

Example::

    async with StorageClient() as storage:
        headers = await storage.send_file("PUT", url, {"content-type": "image/png"}, "a.png")
        etag = headers.get("etag")
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import ssl
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

import anyio
import anyio.to_thread
import httpx

from nexus_async._constants import (
    CHUNK_SIZE,
    CONNECT_TIMEOUT,
    DEFAULT_UPLOAD_CONCURRENCY,
    POOL_TIMEOUT,
    READ_ON_LOOP_MAX_SIZE,
    SECRET_KEY_HEADER,
    SMALL_FILE_SIZE,
    STORAGE_CONNECTIONS_PER_CLIENT,
    STORAGE_MAX_RETRIES,
    STORAGE_READ_TIMEOUT,
)
from nexus_async._exceptions import InvalidInputError, PoolTimeoutError, StorageError
from nexus_async._http import pool_exhausted_error
from nexus_async._retry import RetryPolicy
from nexus_async.uploads.checksums import base64_to_crc32c
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.storage.bodies import (
    FileRange,
    open_for_writing,
    read_range_sync,
    remove_quietly,
    write_and_hash,
)
from nexus_async.uploads.storage.engine import (
    EngineChoice,
    EngineFactory,
    EngineOptions,
    EngineResponse,
    RequestBody,
    StorageEngine,
    TransferFailure,
    build_engine,
    check_choice,
    engine_name,
    import_engine,
)
from nexus_async.uploads.storage.httpx_engine import HttpxEngine
from nexus_async.uploads.storage.redaction import error_detail, redact_url, scrub

if TYPE_CHECKING:
    from nexus_async._transport import Transport

__all__ = ["StorageClient"]

logger = logging.getLogger("nexus_async")

_FORBIDDEN_HEADERS = frozenset({SECRET_KEY_HEADER.lower()})


def _request_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """A copy of the caller's headers, refusing API credentials."""
    result = dict(headers or {})
    for name in result:
        if name.lower() in _FORBIDDEN_HEADERS:
            raise InvalidInputError(f"refusing to send a {name} header to a storage URL")
    return result


def _with_length(headers: dict[str, str], length: int) -> dict[str, str]:
    """A copy of ``headers`` with an explicit ``Content-Length`` (checked against any the
    URL's issuer declared)."""
    result: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() != "content-length":
            result[name] = value
        elif value.strip() != str(length):
            raise InvalidInputError(
                f"the storage URL expects {value} bytes but the body has {length}"
            )
    result["Content-Length"] = str(length)
    return result


def _expected_crc32c(response: EngineResponse) -> int | None:
    """The CRC-32C a storage host declared for the body (``x-goog-hash``), when it applies."""
    if response.headers.get("content-encoding", "identity") != "identity":
        return None  # the header describes the stored bytes, not the decoded ones
    for value in response.header_values("x-goog-hash"):
        name, _, encoded = value.strip().partition("=")
        if name.lower() == "crc32c":
            with contextlib.suppress(ValueError):
                return base64_to_crc32c(encoded)
    return None


def _check_announced_length(
    headers: Mapping[str, str], max_bytes: int | None, describe: str
) -> None:
    """Refuse a body whose ``Content-Length`` is over ``max_bytes`` before reading it."""
    length = headers.get("content-length", "")
    if max_bytes is not None and length.isdigit() and int(length) > max_bytes:
        raise OverflowError(f"{describe}: the body is {length} bytes, over {max_bytes}")


class StorageClient:
    """Sends and fetches bytes at signed storage URLs, with retries and bounded memory.

    Args:
        max_connections: transfers in flight at once (also the total number of connections).
        connections_per_client: connections per pool of the httpx engine (≤ 8 measured best).
        retry_policy: how failed attempts are retried (every transfer is idempotent).
        chunk_size: read size for streamed bodies and downloads.
        small_body_size: ranges up to this are read in one go and sent as bytes.
        transport: an ``httpx.AsyncBaseTransport`` for tests (the httpx engine's every pool).
        ssl_context: a prebuilt context; by default one shared by the whole process.
        engine: ``"auto"`` (aiohttp on asyncio when installed, else httpx), ``"aiohttp"``,
            ``"httpx"``, a factory taking :class:`~.engine.EngineOptions`, or an engine
            instance (which you close: it may serve several clients).
        read_on_loop_max_size: ranges of a known length up to this are read on the event loop
            instead of in a worker thread (a thread hop costs more than reading them).

    Example::

        async with StorageClient(max_connections=32) as storage:
            await storage.send_bytes("PUT", url, {"x-goog-hash": x_goog_hash(digest)}, data)
    """

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_UPLOAD_CONCURRENCY,
        connections_per_client: int = STORAGE_CONNECTIONS_PER_CLIENT,
        retry_policy: RetryPolicy | None = None,
        chunk_size: int = CHUNK_SIZE,
        small_body_size: int = SMALL_FILE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        engine: EngineChoice = "auto",
        read_on_loop_max_size: int = READ_ON_LOOP_MAX_SIZE,
    ) -> None:
        if max_connections < 1 or connections_per_client < 1:
            raise ValueError("max_connections and connections_per_client must be at least 1")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        check_choice(engine)
        if transport is not None and engine not in ("auto", "httpx"):
            raise ValueError("transport= is for the httpx engine only")
        self.retry_policy = retry_policy or RetryPolicy(max_retries=STORAGE_MAX_RETRIES)
        self.chunk_size = chunk_size
        self.small_body_size = small_body_size
        self.read_on_loop_max_size = min(read_on_loop_max_size, small_body_size)
        self.max_connections = max_connections
        self._options = EngineOptions(
            max_connections=max_connections,
            connections_per_client=min(connections_per_client, max_connections),
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=STORAGE_READ_TIMEOUT,
            pool_timeout=POOL_TIMEOUT,
            ssl_context=ssl_context,
        )
        self._transport = transport
        self._engine: StorageEngine | None = None
        self._choice: str | EngineFactory = "httpx"
        if isinstance(engine, str) or not hasattr(engine, "send"):
            self._choice = cast("str | EngineFactory", engine)
        else:
            self._engine = cast(StorageEngine, engine)
        self._owns_engine = self._engine is None
        self._limiter = anyio.CapacityLimiter(max_connections)

    @property
    def client_count(self) -> int:
        """How many connection pools the httpx engine spreads the transfers over."""
        return math.ceil(self.max_connections / self._options.connections_per_client)

    @property
    def engine(self) -> StorageEngine:
        """The engine sending the requests (built at first use, in the running event loop)."""
        if self._engine is None:
            if self._transport is not None:
                self._engine = HttpxEngine(self._options, self._transport)
            else:
                self._engine = build_engine(self._choice, self._options)
        return self._engine

    async def _first_engine(self) -> StorageEngine:
        """:attr:`engine`, its library imported in a worker thread."""
        if self._transport is None and isinstance(self._choice, str):
            await import_engine(engine_name(self._choice))
        return self.engine

    async def __aenter__(self) -> StorageClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the engine's connections (unless the engine was given already built)."""
        if self._owns_engine and self._engine is not None:
            await self._engine.aclose()

    def _failure_error(
        self, failure: TransferFailure, method: str, url: str, describe: str
    ) -> InvalidInputError | StorageError | PoolTimeoutError:
        """The SDK error for a request that got no response (the URL's query left out)."""
        if failure.kind == "pool":
            return pool_exhausted_error(
                method,
                urllib.parse.urlsplit(redact_url(url)).path,
                pool="storage",
                max_connections=failure.pool_size,
                timeout=self._options.pool_timeout,
            )
        if failure.kind == "unsupported":
            return InvalidInputError(f"{describe}: {scrub(failure.detail)}")
        if failure.kind == "timeout":
            return StorageError(
                f"{describe} timed out ({scrub(failure.detail)})", url=redact_url(url)
            )
        return StorageError(f"{describe} failed: {scrub(failure.detail)}", url=redact_url(url))

    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: RequestBody,
        describe: str,
        *,
        stream: bool = False,
    ) -> EngineResponse:
        """Send one attempt; a failure or a non-2xx answer raises an SDK error."""
        try:
            engine = self._engine or await self._first_engine()
            response = await engine.send(method, url, headers, body, stream=stream)
        except TransferFailure as failure:
            raise self._failure_error(failure, method, url, describe) from failure
        logger.debug("%s -> %d", describe, response.status)
        if 200 <= response.status < 300:
            return response
        try:
            text = (await response.read()).decode("utf-8", "replace")
        except TransferFailure:
            text = ""
        finally:
            await response.aclose()
        detail = error_detail(text)
        message = f"{describe} failed: HTTP {response.status} {response.reason}"
        raise StorageError(
            f"{message}: {detail}" if detail else message,
            url=redact_url(url),
            status_code=response.status,
        )

    async def send_bytes(
        self, method: str, url: str, headers: Mapping[str, str] | None, data: bytes
    ) -> Mapping[str, str]:
        """Send ``data`` as the whole body; return the storage response's headers (names
        looked up case-insensitively).

        Example::

            await storage.send_bytes("PUT", url, {"content-type": "image/jpeg"}, jpeg_bytes)
        """
        request_headers = _with_length(_request_headers(headers), len(data))
        describe = f"{method} {redact_url(url)}"

        async def attempt() -> Mapping[str, str]:
            async with self._limiter:
                response = await self._send(method, url, request_headers, data, describe)
            return response.headers

        return await self.retry_policy.call(attempt, idempotent=True, describe=describe)

    async def send_file(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        path: str | os.PathLike[str],
        *,
        offset: int = 0,
        length: int | None = None,
        chunk_size: int | None = None,
    ) -> Mapping[str, str]:
        """Send ``length`` bytes of a file from ``offset`` (to its end when None) as the body.

        Small ranges are read in one go and sent as bytes; larger ones are streamed in
        ``chunk_size`` reads. ``Content-Length`` is always explicit. Every attempt re-reads the
        range from disk. Returns the response headers (multipart parts need the ``ETag``),
        names looked up case-insensitively.

        Example::

            part = await storage.send_file("PUT", part_url, {}, "big.mp4",
                                           offset=(n - 1) * part_size, length=part_size)
            etag = part["etag"]
        """
        file_path = Path(path)
        chunk = chunk_size or self.chunk_size
        request_headers = _request_headers(headers)
        describe = f"{method} {redact_url(url)}"
        on_loop = length is not None and length <= self.read_on_loop_max_size

        async def attempt() -> Mapping[str, str]:
            async with self._limiter:
                if on_loop:
                    body = read_range_sync(file_path, offset, length, self.small_body_size)
                else:
                    body = await anyio.to_thread.run_sync(
                        read_range_sync, file_path, offset, length, self.small_body_size
                    )
                if isinstance(body, bytes):
                    sized = _with_length(request_headers, len(body))
                    response = await self._send(method, url, sized, body, describe)
                    return response.headers
                sized = _with_length(request_headers, body)
                async with await anyio.open_file(file_path, "rb") as file:
                    await file.seek(offset)
                    stream = FileRange(file, file_path, body, chunk)
                    try:
                        response = await self._send(method, url, sized, stream, describe)
                    except StorageError:
                        if stream.error is None:
                            raise
                        raise stream.error from None
            return response.headers

        return await self.retry_policy.call(attempt, idempotent=True, describe=describe)

    async def send_local_file(
        self, method: str, url: str, headers: Mapping[str, str] | None, file: LocalFile
    ) -> Mapping[str, str]:
        """Send a described file: its kept bytes if it has them, else streamed from its path.

        Example::

            await storage.send_local_file(upload.method, upload.url, upload.headers, file)
        """
        if file.data is not None:
            return await self.send_bytes(method, url, headers, file.data)
        if file.path is None:
            raise InvalidInputError(f"{file.filename} has neither bytes nor a path")
        return await self.send_file(method, url, headers, file.path, length=file.size)

    async def download(
        self,
        url: str,
        dest_path: str | os.PathLike[str],
        *,
        headers: Mapping[str, str] | None = None,
        chunk_size: int | None = None,
        max_bytes: int | None = None,
    ) -> int:
        """Stream ``GET url`` to ``dest_path``; return the number of bytes written.

        With ``max_bytes``, a body that is (or announces itself) longer raises
        :class:`OverflowError` as soon as it is known, and nothing is kept: an endless body
        never fills the disk.

        The body goes through a ``<dest>.part`` file renamed into place on success (removed on
        failure), one chunk in memory at a time. A non-2xx status raises
        :class:`~nexus_async.StorageError`; when the host declares the body's CRC-32C
        (``x-goog-hash``) it is verified, and a mismatch is retried like a broken connection.

        Example::

            size = await storage.download(export_url, "export.zip")
        """
        dest = Path(dest_path)
        partial = dest.with_name(dest.name + ".part")
        chunk = chunk_size or self.chunk_size
        request_headers = _request_headers(headers)
        describe = f"GET {redact_url(url)}"

        async def attempt() -> int:
            async with self._limiter:
                return await self._download_once(
                    url, request_headers, partial, chunk, describe, max_bytes
                )

        try:
            written = await self.retry_policy.call(attempt, idempotent=True, describe=describe)
            await anyio.to_thread.run_sync(os.replace, partial, dest)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(remove_quietly, partial)
            raise
        return written

    async def _download_once(
        self,
        url: str,
        headers: Mapping[str, str],
        partial: Path,
        chunk_size: int,
        describe: str,
        max_bytes: int | None,
    ) -> int:
        response = await self._send("GET", url, headers, None, describe, stream=True)
        try:
            expected = _expected_crc32c(response)
            _check_announced_length(response.headers, max_bytes, describe)
            written, digest = await self._write_body(
                response, partial, chunk_size, url, describe, max_bytes
            )
        finally:
            await response.aclose()
        if expected is not None and digest != expected:
            raise StorageError(
                f"{describe}: the body's CRC-32C does not match the host's x-goog-hash",
                url=redact_url(url),
            )
        return written

    async def _write_body(
        self,
        response: EngineResponse,
        partial: Path,
        chunk_size: int,
        url: str,
        describe: str,
        max_bytes: int | None,
    ) -> tuple[int, int]:
        written = digest = 0
        file = await anyio.to_thread.run_sync(open_for_writing, partial)
        try:
            async for piece in response.iter_bytes(chunk_size):
                if max_bytes is not None and written + len(piece) > max_bytes:
                    raise OverflowError(f"{describe}: the body is over {max_bytes} bytes")
                digest = await anyio.to_thread.run_sync(write_and_hash, file, piece, digest)
                written += len(piece)
        except TransferFailure as failure:
            raise self._failure_error(failure, "GET", url, describe) from failure
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(file.close)
        return written, digest


def storage_for(
    transport: Transport,
    *,
    max_connections: int,
    connections_per_client: int = STORAGE_CONNECTIONS_PER_CLIENT,
    chunk_size: int = CHUNK_SIZE,
) -> StorageClient:
    """A :class:`StorageClient` for an API client's uploads and downloads: on the client's
    storage engine, its retries waiting on the client's clock.

    Example::

        async with storage_for(transport, max_connections=32) as storage:
            await storage.send_local_file(upload.method, upload.url, upload.headers, file)
    """
    return StorageClient(
        max_connections=max_connections,
        connections_per_client=connections_per_client,
        chunk_size=chunk_size,
        engine=transport.storage_engine,
        retry_policy=RetryPolicy(max_retries=STORAGE_MAX_RETRIES, sleep=transport.clock.sleep),
    )
