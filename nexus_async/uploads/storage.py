"""Transfers to and from signed storage URLs: the ONE streaming implementation that asset
uploads, multipart parts, annotation imports and NDJSON datasets all use (nexus-api.md §13).

* :class:`StorageClient` owns several ``httpx.AsyncClient`` of at most 8 connections each
  (measurements.md: one pool degrades past ~8) and hands each transfer to the least busy one.
  They are built once, speak HTTP/1.1, share one prebuilt SSL context, and carry **no API
  credentials**: a header named ``Secret-Key`` is refused outright.
* Bodies are sent with an explicit ``Content-Length`` (never chunked): small ones as bytes read
  in one thread hop, larger ones streamed from disk in ``chunk_size`` reads. Memory stays at
  ``max_connections * max(chunk_size, small_body_size)`` whatever the file sizes.
* Each attempt re-reads its byte range from disk, so a retry (connection failure, 408, 429, 5xx,
  per :class:`~nexus_async._retry.RetryPolicy`) resends exactly the same bytes.
* A signed URL's query string is its credential: it never appears in exceptions or logs
  (:func:`redact_url`).

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
import re
import ssl
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import IO

import anyio
import anyio.to_thread
import google_crc32c
import httpx

from nexus_async._constants import (
    CHUNK_SIZE,
    CONNECT_TIMEOUT,
    DEFAULT_UPLOAD_CONCURRENCY,
    POOL_TIMEOUT,
    SECRET_KEY_HEADER,
    SMALL_FILE_SIZE,
    STORAGE_CONNECTIONS_PER_CLIENT,
    STORAGE_ERROR_BODY_CHARS,
    STORAGE_MAX_RETRIES,
    STORAGE_READ_TIMEOUT,
)
from nexus_async._exceptions import InvalidInputError, PoolTimeoutError, StorageError
from nexus_async._http import build_http_client, pool_timeout_error
from nexus_async._logging import install_signature_redaction
from nexus_async._retry import RetryPolicy
from nexus_async.uploads.checksums import base64_to_crc32c
from nexus_async.uploads.files import LocalFile

__all__ = ["StorageClient", "redact_url"]

logger = logging.getLogger("nexus_async")

_FORBIDDEN_HEADERS = frozenset({SECRET_KEY_HEADER.lower()})
_URL_PATTERN = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>\"']+")
_XML_FIELD = re.compile(r"<(Code|Message)>(.*?)</\1>", re.DOTALL)


def redact_url(url: str | httpx.URL) -> str:
    """``url`` without its query string, fragment and user info (a signed URL's query carries
    its signature): safe to log or put in an exception.

    Example::

        redact_url("https://storage.example/b/a.png?X-Goog-Signature=abc")
        # "https://storage.example/b/a.png"
    """
    try:
        parts = urllib.parse.urlsplit(str(url))
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _scrub(text: str) -> str:
    """``text`` with every URL in it redacted."""
    return _URL_PATTERN.sub(lambda match: redact_url(match.group(0)), text)


def _error_detail(body: str) -> str:
    """A short, URL-free summary of a storage error body (GCS answers XML ``<Error>``)."""
    fields = dict(_XML_FIELD.findall(body))
    if fields:
        summary = ": ".join(fields[k].strip() for k in ("Code", "Message") if k in fields)
    else:
        summary = " ".join(body.split())
    return _scrub(summary)[:STORAGE_ERROR_BODY_CHARS]


def _storage_timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=CONNECT_TIMEOUT,
        read=STORAGE_READ_TIMEOUT,
        write=STORAGE_READ_TIMEOUT,
        pool=POOL_TIMEOUT,
    )


def _read_range_sync(path: Path, offset: int, length: int | None, inline_max: int) -> bytes | int:
    """Blocking: the range's bytes if it is at most ``inline_max`` long, else its length."""
    with open(path, "rb") as file:
        available = os.fstat(file.fileno()).st_size - offset
        if offset < 0 or available < 0:
            raise InvalidInputError(f"offset {offset} is outside '{path}'")
        if length is None:
            length = available
        elif length < 0 or length > available:
            raise InvalidInputError(
                f"'{path}' has {available} bytes from offset {offset}, not {length}"
            )
        if length > inline_max:
            return length
        file.seek(offset)
        data = file.read(length)
    if len(data) != length:
        raise InvalidInputError(f"'{path}' changed while being read")
    return data


async def _stream_range(
    file: anyio.AsyncFile[bytes], path: Path, length: int, chunk_size: int
) -> AsyncIterator[bytes]:
    """Exactly ``length`` bytes of an open file, one thread hop per chunk."""
    remaining = length
    while remaining > 0:
        chunk = await file.read(min(chunk_size, remaining))
        if not chunk:
            raise InvalidInputError(f"'{path}' shrank while being uploaded")
        remaining -= len(chunk)
        yield chunk


def _write_and_hash(file: IO[bytes], chunk: bytes, digest: int) -> int:
    """Blocking: write ``chunk`` and continue the digest over it, in the same thread hop."""
    file.write(chunk)
    return int(google_crc32c.extend(digest, chunk))


def _expected_crc32c(headers: httpx.Headers) -> int | None:
    """The CRC-32C a storage host declared for the body (``x-goog-hash``), when it applies."""
    if headers.get("content-encoding", "identity") != "identity":
        return None  # the header describes the stored bytes, not the decoded ones
    for value in headers.get_list("x-goog-hash", split_commas=True):
        name, _, encoded = value.strip().partition("=")
        if name.lower() == "crc32c":
            with contextlib.suppress(ValueError):
                return base64_to_crc32c(encoded)
    return None


def _open_for_writing(path: Path) -> IO[bytes]:
    return open(path, "wb")  # the caller closes it, in another thread hop


def _check_announced_length(headers: httpx.Headers, max_bytes: int | None, describe: str) -> None:
    """Refuse a body whose ``Content-Length`` is over ``max_bytes`` before reading it."""
    length = headers.get("content-length", "")
    if max_bytes is not None and length.isdigit() and int(length) > max_bytes:
        raise OverflowError(f"{describe}: the body is {length} bytes, over {max_bytes}")


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class StorageClient:
    """Sends and fetches bytes at signed storage URLs, with retries and bounded memory.

    Args:
        max_connections: transfers in flight at once, across all clients (also the total
            number of connections).
        connections_per_client: connections per ``httpx.AsyncClient`` (≤ 8 measured best).
        retry_policy: how failed attempts are retried (every transfer is idempotent).
        chunk_size: read size for streamed bodies and downloads.
        small_body_size: ranges up to this are read in one hop and sent as bytes.
        transport: an ``httpx.AsyncBaseTransport`` for tests (shared by all clients).
        ssl_context: a prebuilt context; by default one shared by the whole process.

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
    ) -> None:
        if max_connections < 1 or connections_per_client < 1:
            raise ValueError("max_connections and connections_per_client must be at least 1")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.retry_policy = retry_policy or RetryPolicy(max_retries=STORAGE_MAX_RETRIES)
        self.chunk_size = chunk_size
        self.small_body_size = small_body_size
        self.max_connections = max_connections
        per_client = min(connections_per_client, max_connections)
        count = math.ceil(max_connections / per_client)
        self._per_client = per_client
        self._clients = [
            build_http_client(
                max_connections=per_client,
                timeout=_storage_timeout(),
                ssl_context=ssl_context,
                transport=transport,
                follow_redirects=False,
            )
            for _ in range(count)
        ]
        self._busy = [0] * count
        self._next = 0
        self._limiter = anyio.CapacityLimiter(max_connections)
        install_signature_redaction()

    @property
    def client_count(self) -> int:
        """How many ``httpx.AsyncClient`` pools the transfers are spread over."""
        return len(self._clients)

    async def __aenter__(self) -> StorageClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection pool."""
        for client in self._clients:
            await client.aclose()

    @contextlib.asynccontextmanager
    async def _lease(self) -> AsyncIterator[httpx.AsyncClient]:
        """A transfer slot on the least busy client (ties go round-robin)."""
        async with self._limiter:
            count = len(self._clients)
            index = min(range(count), key=lambda i: (self._busy[i], (i - self._next) % count))
            self._next = (index + 1) % count
            self._busy[index] += 1
            try:
                yield self._clients[index]
            finally:
                self._busy[index] -= 1

    @staticmethod
    def _headers(headers: Mapping[str, str] | None) -> httpx.Headers:
        result = httpx.Headers(dict(headers or {}))
        for name in result:
            if name.lower() in _FORBIDDEN_HEADERS:
                raise InvalidInputError(f"refusing to send a {name} header to a storage URL")
        return result

    @staticmethod
    def _with_length(headers: httpx.Headers, length: int) -> httpx.Headers:
        """A copy of ``headers`` with an explicit ``Content-Length`` (checked against any the
        URL's issuer declared)."""
        declared = headers.get("content-length")
        if declared is not None and declared.strip() != str(length):
            raise InvalidInputError(
                f"the storage URL expects {declared} bytes but the body has {length}"
            )
        result = headers.copy()
        result["Content-Length"] = str(length)
        return result

    def _transport_error(
        self, exc: httpx.TransportError, request: httpx.Request, describe: str
    ) -> InvalidInputError | StorageError | PoolTimeoutError:
        """The SDK error for a request that got no response (the URL's query left out)."""
        if isinstance(exc, httpx.PoolTimeout):
            return pool_timeout_error(request, pool="storage", max_connections=self._per_client)
        if isinstance(exc, httpx.UnsupportedProtocol):
            return InvalidInputError(f"{describe}: {_scrub(str(exc))}")
        if isinstance(exc, httpx.TimeoutException):
            return StorageError(
                f"{describe} timed out ({type(exc).__name__})", url=redact_url(request.url)
            )
        return StorageError(
            f"{describe} failed: {type(exc).__name__}: {_scrub(str(exc))}",
            url=redact_url(request.url),
        )

    async def _send(
        self, client: httpx.AsyncClient, request: httpx.Request, describe: str
    ) -> httpx.Response:
        """Send one attempt; map failures to :class:`~nexus_async.StorageError`."""
        try:
            response = await client.send(request)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, request, describe) from exc
        self._raise_for_status(response, describe)
        return response

    @staticmethod
    def _raise_for_status(response: httpx.Response, describe: str) -> None:
        logger.debug("%s -> %d", describe, response.status_code)
        if response.is_success:
            return
        detail = _error_detail(response.text) if response.is_stream_consumed else ""
        message = f"{describe} failed: HTTP {response.status_code} {response.reason_phrase}"
        raise StorageError(
            f"{message}: {detail}" if detail else message,
            url=redact_url(response.request.url),
            status_code=response.status_code,
        )

    async def send_bytes(
        self, method: str, url: str, headers: Mapping[str, str] | None, data: bytes
    ) -> httpx.Headers:
        """Send ``data`` as the whole body; return the storage response's headers.

        Example::

            await storage.send_bytes("PUT", url, {"content-type": "image/jpeg"}, jpeg_bytes)
        """
        request_headers = self._with_length(self._headers(headers), len(data))
        describe = f"{method} {redact_url(url)}"
        async for attempt in self.retry_policy.retrying(idempotent=True, describe=describe):
            with attempt:
                async with self._lease() as client:
                    request = client.build_request(
                        method, url, headers=request_headers, content=data
                    )
                    response = await self._send(client, request, describe)
        return response.headers

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
    ) -> httpx.Headers:
        """Send ``length`` bytes of a file from ``offset`` (to its end when None) as the body.

        Small ranges are read in one thread hop and sent as bytes; larger ones are streamed in
        ``chunk_size`` reads. ``Content-Length`` is always explicit. Every attempt re-reads the
        range from disk. Returns the response headers (multipart parts need the ``ETag``).

        Example::

            part = await storage.send_file("PUT", part_url, {}, "big.mp4",
                                           offset=(n - 1) * part_size, length=part_size)
            etag = part["etag"]
        """
        file_path = Path(path)
        chunk = chunk_size or self.chunk_size
        request_headers = self._headers(headers)
        describe = f"{method} {redact_url(url)}"
        async for attempt in self.retry_policy.retrying(idempotent=True, describe=describe):
            with attempt:
                async with self._lease() as client:
                    body = await anyio.to_thread.run_sync(
                        _read_range_sync, file_path, offset, length, self.small_body_size
                    )
                    if isinstance(body, bytes):
                        request = client.build_request(
                            method,
                            url,
                            headers=self._with_length(request_headers, len(body)),
                            content=body,
                        )
                        response = await self._send(client, request, describe)
                    else:
                        sized_headers = self._with_length(request_headers, body)
                        async with await anyio.open_file(file_path, "rb") as file:
                            await file.seek(offset)
                            request = client.build_request(
                                method,
                                url,
                                headers=sized_headers,
                                content=_stream_range(file, file_path, body, chunk),
                            )
                            response = await self._send(client, request, describe)
        return response.headers

    async def send_local_file(
        self, method: str, url: str, headers: Mapping[str, str] | None, file: LocalFile
    ) -> httpx.Headers:
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
        request_headers = self._headers(headers)
        describe = f"GET {redact_url(url)}"
        try:
            async for attempt in self.retry_policy.retrying(idempotent=True, describe=describe):
                with attempt:
                    written = await self._download_once(
                        url, request_headers, partial, chunk, describe, max_bytes
                    )
            await anyio.to_thread.run_sync(os.replace, partial, dest)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_remove_quietly, partial)
            raise
        return written

    async def _download_once(
        self,
        url: str,
        headers: httpx.Headers,
        partial: Path,
        chunk_size: int,
        describe: str,
        max_bytes: int | None,
    ) -> int:
        async with self._lease() as client:
            request = client.build_request("GET", url, headers=headers)
            try:
                response = await client.send(request, stream=True)
            except httpx.TransportError as exc:
                raise self._transport_error(exc, request, describe) from exc
            try:
                if not response.is_success:
                    await response.aread()
                self._raise_for_status(response, describe)
                expected = _expected_crc32c(response.headers)
                _check_announced_length(response.headers, max_bytes, describe)
                written, digest = await self._write_body(
                    response, partial, chunk_size, describe, max_bytes
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
        response: httpx.Response,
        partial: Path,
        chunk_size: int,
        describe: str,
        max_bytes: int | None,
    ) -> tuple[int, int]:
        written = digest = 0
        file = await anyio.to_thread.run_sync(_open_for_writing, partial)
        try:
            async for piece in response.aiter_bytes(chunk_size):
                if max_bytes is not None and written + len(piece) > max_bytes:
                    raise OverflowError(f"{describe}: the body is over {max_bytes} bytes")
                digest = await anyio.to_thread.run_sync(_write_and_hash, file, piece, digest)
                written += len(piece)
        except httpx.TransportError as exc:
            raise self._transport_error(exc, response.request, describe) from exc
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(file.close)
        return written, digest
