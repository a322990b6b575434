"""The httpx storage engine: runs on any anyio backend (asyncio, trio).

Transfers are spread over several transports of at most ``connections_per_client``
connections each (httpcore checks every pooled connection on each request and release, so
small pools cost less CPU; measurements.md), each a
:class:`~nexus_async._http.ReclaimingConnectionPool` that cancellation cannot wedge.

Requests go to the transports directly, not through an ``httpx.AsyncClient``: a client adds
cookies, redirects and auth that signed URLs never use, and logs every request URL, signature
included, at INFO on the process-wide ``httpx`` logger. Without it, the signature never reaches
a log record, and no filter on a logger the application owns is needed.

Example::

    engine = HttpxEngine(options)
    response = await engine.send("PUT", url, {"Content-Length": "3"}, b"abc")
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping

import httpx

from nexus_async._http import build_transport
from nexus_async.uploads.storage.engine import (
    EngineOptions,
    RequestBody,
    TransferFailure,
    read_unless_streamed,
)

__all__ = ["HttpxEngine"]


def _failure(exc: httpx.TransportError, pool_size: int) -> TransferFailure:
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.PoolTimeout):
        return TransferFailure("pool", detail, pool_size=pool_size)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return TransferFailure("unsupported", detail)
    if isinstance(exc, httpx.TimeoutException):
        return TransferFailure("timeout", detail)
    if isinstance(exc, httpx.ConnectError):
        return TransferFailure("connect", detail)
    return TransferFailure("broken", detail)


class _Response:
    """An ``httpx.Response`` seen through :class:`~.engine.EngineResponse`; gives its transport
    lease back when closed."""

    def __init__(self, response: httpx.Response, engine: HttpxEngine, lease: int) -> None:
        self._response = response
        self._engine = engine
        self._lease: int | None = lease

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def reason(self) -> str:
        return self._response.reason_phrase

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    def header_values(self, name: str) -> list[str]:
        return self._response.headers.get_list(name, split_commas=True)

    async def read(self) -> bytes:
        try:
            return await self._response.aread()
        except httpx.TransportError as exc:
            raise _failure(exc, self._engine.pool_size) from exc

    async def iter_bytes(self, chunk_size: int) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.TransportError as exc:
            raise _failure(exc, self._engine.pool_size) from exc

    async def aclose(self) -> None:
        try:
            await self._response.aclose()
        finally:
            if self._lease is not None:
                self._engine._release(self._lease)
                self._lease = None


class HttpxEngine:
    """The httpx :class:`~.engine.StorageEngine` (see the module docstring). ``transport``
    replaces every pool's transport (tests: ``httpx.MockTransport``)."""

    def __init__(
        self, options: EngineOptions, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.pool_size = min(options.connections_per_client, options.max_connections)
        count = math.ceil(options.max_connections / self.pool_size)
        self._transports: list[httpx.AsyncBaseTransport] = [
            transport
            or build_transport(max_connections=self.pool_size, ssl_context=options.ssl_context)
            for _ in range(count)
        ]
        self._busy = [0] * count
        self._next = 0
        self._timeout = {
            "connect": options.connect_timeout,
            "read": options.read_timeout,
            "write": options.read_timeout,
            "pool": options.pool_timeout,
        }

    @property
    def pool_count(self) -> int:
        """How many connection pools the transfers are spread over."""
        return len(self._transports)

    def _acquire(self) -> int:
        """The least busy pool (ties go round-robin), counted busy until released."""
        count = len(self._transports)
        if count == 1:
            index = 0
        else:
            index = min(range(count), key=lambda i: (self._busy[i], (i - self._next) % count))
            self._next = (index + 1) % count
        self._busy[index] += 1
        return index

    def _release(self, index: int) -> None:
        self._busy[index] -= 1

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: RequestBody,
        *,
        stream: bool = False,
    ) -> _Response:
        try:
            request = httpx.Request(
                method, url, headers=headers, content=body, extensions={"timeout": self._timeout}
            )
        except httpx.InvalidURL as exc:
            raise TransferFailure("unsupported", f"InvalidURL: {exc}") from exc
        index = self._acquire()
        try:
            raw = await self._transports[index].handle_async_request(request)
        except httpx.TransportError as exc:
            self._release(index)
            raise _failure(exc, self.pool_size) from exc
        except BaseException:
            self._release(index)
            raise
        raw.request = request
        response = _Response(raw, self, index)
        return await read_unless_streamed(response, stream)

    async def aclose(self) -> None:
        closed: set[int] = set()
        for transport in self._transports:
            if id(transport) not in closed:
                closed.add(id(transport))
                await transport.aclose()
