"""The aiohttp storage engine: asyncio only, about half the client CPU of httpx per transfer
(``benchmarks/STORAGE_ENGINES.md``).

One ``aiohttp.ClientSession`` whose connector holds ``max_connections`` kept-alive
connections. URLs are passed as ``yarl.URL(url, encoded=True)``: aiohttp would otherwise
re-encode a signed URL's query and break its signature. Nothing is added to the request but
what HTTP needs (no ``Content-Type`` unless the caller gave one), redirects are not followed,
and aiohttp logs nothing per request. When a kept-alive connection drops before any answer,
aiohttp resends a bytes body once by itself (RFC 9112 §9.3.1); a streamed body is never
resent by aiohttp, only by :class:`StorageClient`'s retries, which re-read it from disk.

Example::

    engine = AiohttpEngine(options)
    response = await engine.send("PUT", url, {"Content-Length": "3"}, b"abc")
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Mapping

import aiohttp
import anyio
import yarl

from nexus_async._constants import CHUNK_SIZE
from nexus_async._http import default_ssl_context
from nexus_async.uploads.storage.engine import (
    EngineOptions,
    RequestBody,
    TransferFailure,
    read_unless_streamed,
)

__all__ = ["AiohttpEngine"]

_SKIP_AUTO_HEADERS = frozenset({"Content-Type"})


def _failure(exc: BaseException) -> TransferFailure:
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ValueError):  # aiohttp.InvalidURL and yarl's own
        return TransferFailure("unsupported", detail)
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return TransferFailure("timeout", detail)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransferFailure("connect", detail)
    return TransferFailure("broken", detail)


class _Response:
    """An ``aiohttp.ClientResponse`` seen through :class:`~.engine.EngineResponse`."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self._body: bytes | None = None

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def reason(self) -> str:
        return self._response.reason or ""

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    def header_values(self, name: str) -> list[str]:
        return [
            part.strip()
            for value in self._response.headers.getall(name, ())
            for part in value.split(",")
        ]

    async def read(self) -> bytes:
        if self._body is None:
            try:
                self._body = await self._response.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                raise _failure(exc) from exc
        return self._body

    async def iter_bytes(self, chunk_size: int) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(chunk_size):
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _failure(exc) from exc

    async def aclose(self) -> None:
        # A body read to its end leaves the connection reusable; any other is closed.
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


class _WatchedBody:
    """A request body that moves a deadline forward each time aiohttp asks for a chunk (the
    previous one was written): aiohttp has no write timeout, and a host that stops reading
    must not hold a transfer forever. Bytes over ``CHUNK_SIZE`` go out in chunks for the same
    reason. Iterable once, like :class:`~.bodies.FileRange`."""

    def __init__(self, body: bytes | AsyncIterable[bytes], scope: anyio.CancelScope, stall: float):
        self._body = body
        self._scope = scope
        self._stall = stall
        self._started = False

    def _progress(self) -> None:
        self._scope.deadline = anyio.current_time() + self._stall

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError("a streamed request body cannot be sent twice")
        self._started = True
        if isinstance(self._body, bytes):
            for start in range(0, len(self._body), CHUNK_SIZE):
                self._progress()
                yield self._body[start : start + CHUNK_SIZE]
        else:
            async for chunk in self._body:
                self._progress()
                yield chunk
        self._progress()


class AiohttpEngine:
    """The aiohttp :class:`~.engine.StorageEngine` (see the module docstring). Build it inside
    the event loop that will use it."""

    def __init__(self, options: EngineOptions) -> None:
        connector = aiohttp.TCPConnector(
            limit=options.max_connections,
            limit_per_host=0,
            ssl=options.ssl_context or default_ssl_context(),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=options.pool_timeout + options.connect_timeout,
                sock_connect=options.connect_timeout,
                sock_read=options.read_timeout,
            ),
            auto_decompress=True,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self._stall = options.read_timeout

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: RequestBody,
        *,
        stream: bool = False,
    ) -> _Response:
        # Sending (and waiting for the answer's head) may not stall longer than a read may.
        with anyio.CancelScope(deadline=anyio.current_time() + self._stall) as scope:
            if body is not None and not (isinstance(body, bytes) and len(body) <= CHUNK_SIZE):
                body = _WatchedBody(body, scope, self._stall)
            try:
                raw = await self._session.request(
                    method,
                    yarl.URL(url, encoded=True),
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                    skip_auto_headers=_SKIP_AUTO_HEADERS,
                )
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                raise _failure(exc) from exc
        if scope.cancelled_caught:
            raise TransferFailure(
                "timeout", f"WriteTimeout: no progress sending the request for {self._stall:g} s"
            )
        response = _Response(raw)
        return await read_unless_streamed(response, stream)

    async def aclose(self) -> None:
        await self._session.close()
