"""The HTTP engine behind every request: httpx over a connection pool that survives cancellation.

httpcore 1.0.9 (every httpx 0.28 release uses it) loses a pool slot for good when a caller's
cancellation lands at the wrong moment (encode/httpcore#1093 and kin): after the pool handed
the request a new connection but before the request used it, between opening the connection
and sending on it, or while the response is being closed (asyncio's cancellation passes
httpcore's shields). The connection is left owned by nobody and never idle, or owned by a
request that nobody will ever finish. A service whose callers wrap calls in their own
timeouts loses slots until the pool is full, and then every request waits for good.

:class:`ReclaimingConnectionPool` keeps one invariant at every pool update: a connection that
no live request owns is idle (reusable) or gets closed. A response close that a cancellation
interrupted still releases its request. ``benchmarks/wedge.py`` measures it against the stock
pool and the ``httpx-aiohttp`` transport.

The pool wait is always finite (:data:`~nexus_async._constants.POOL_TIMEOUT`): should a slot
ever be lost another way, callers get :class:`~nexus_async.PoolTimeoutError` naming the pool
instead of hanging.

Example::

    http = build_http_client(max_connections=8, timeout=httpx.Timeout(60.0, pool=30.0))
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx
from httpcore._async.connection_pool import AsyncPoolRequest, PoolByteStream

from nexus_async._constants import CONNECT_TIMEOUT, POOL_TIMEOUT, READ_TIMEOUT
from nexus_async._exceptions import ConfigurationError, PoolTimeoutError

__all__ = [
    "ReclaimingConnectionPool",
    "api_timeout",
    "build_http_client",
    "build_transport",
    "default_ssl_context",
    "pool_exhausted_error",
    "pool_timeout_error",
]


def api_timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    """The httpx timeout of an API call from what a caller gave: ``None`` for the defaults, a
    number of seconds for every phase (connect and pool wait capped at their defaults), or an
    ``httpx.Timeout`` as it is."""
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        return httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT, pool=POOL_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {value!r}")
    return httpx.Timeout(value, connect=min(value, CONNECT_TIMEOUT), pool=min(value, POOL_TIMEOUT))


def pool_timeout_error(
    request: httpx.Request, *, pool: str, max_connections: int | None
) -> PoolTimeoutError:
    """The error for a request that found no free connection of ``pool`` in time."""
    timeout = request.extensions.get("timeout", {}).get("pool")
    return pool_exhausted_error(
        request.method,
        request.url.path,
        pool=pool,
        max_connections=max_connections,
        timeout=timeout if isinstance(timeout, (int, float)) else None,
        request=request,
    )


def pool_exhausted_error(
    method: str,
    path: str,
    *,
    pool: str,
    max_connections: int | None,
    timeout: float | None,
    request: httpx.Request | None = None,
) -> PoolTimeoutError:
    """The error for a ``method path`` request that waited ``timeout`` seconds for a free
    connection of ``pool`` in vain (``path`` without the query)."""
    waited = f"{timeout:g} s" if timeout is not None else "its pool timeout"
    size = f" ({max_connections} connections)" if max_connections else ""
    return PoolTimeoutError(
        f"{method} {path}: no free connection in the {pool} pool{size} "
        f"within {waited}; every connection stayed busy. "
        "Lower the concurrency of your calls, or raise the pool timeout.",
        pool=pool,
        timeout=timeout,
        request=request,
    )


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The verifying SSL context every pool shares (building one costs 12-17 ms)."""
    return httpx.create_ssl_context()


class ReclaimingConnectionPool(httpcore.AsyncConnectionPool):
    """An ``httpcore.AsyncConnectionPool`` that cannot lose connection slots to cancellation.

    At every pool update (a request added, finished or cancelled), a connection that no request
    in the pool owns and that is neither idle nor closed is closed: nothing else would ever
    release it. A response whose close was interrupted still removes its request from the
    pool. Connections whose closing a cancellation interrupted are closed by the next update.
    Everything else is httpcore's own logic.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deferred_close: list[httpcore.AsyncConnectionInterface] = []

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        owned = {id(request.connection) for request in self._requests}
        orphans = [
            connection
            for connection in self._connections
            if id(connection) not in owned
            and not connection.is_idle()
            and not connection.is_closed()
        ]
        for connection in orphans:
            self._connections.remove(connection)
        closing, self._deferred_close = self._deferred_close + orphans, []
        return closing + super()._assign_requests_to_connections()

    async def _close_connections(self, closing: list[httpcore.AsyncConnectionInterface]) -> None:
        for index, connection in enumerate(closing):
            try:
                await super()._close_connections([connection])
            except BaseException:
                self._deferred_close.extend(closing[index:])
                raise

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        response = await super().handle_async_request(request)
        if isinstance(response.stream, PoolByteStream):
            response.stream = _ReleasingStream(response.stream, self)
        return response

    def release(self, pool_request: AsyncPoolRequest) -> None:
        """Remove a finished request whose response close did not complete (no I/O here: its
        connection, now owned by nobody, is closed or reused at the next update)."""
        with self._optional_thread_lock:
            if pool_request in self._requests:
                self._requests.remove(pool_request)
                closing = self._assign_requests_to_connections()
                self._deferred_close.extend(closing)


class _ReleasingStream:
    """A pool response stream whose request leaves the pool even if closing it is cancelled."""

    def __init__(self, stream: PoolByteStream, pool: ReclaimingConnectionPool) -> None:
        self._stream = stream
        self._pool = pool

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._pool.release(self._stream._pool_request)


def build_transport(
    *,
    max_connections: int,
    ssl_context: ssl.SSLContext | None = None,
    cert: tuple[str, str] | None = None,
) -> httpx.AsyncHTTPTransport:
    """An HTTP/1.1 transport of ``max_connections`` kept-alive connections over a
    :class:`ReclaimingConnectionPool`."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    context = ssl_context or default_ssl_context()
    if cert is not None:
        context = httpx.create_ssl_context(cert=cert)
    transport = httpx.AsyncHTTPTransport(verify=context, limits=limits)
    transport._pool = ReclaimingConnectionPool(
        ssl_context=context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=False,
    )
    return transport


def build_http_client(
    *,
    max_connections: int,
    timeout: httpx.Timeout,
    ssl_context: ssl.SSLContext | None = None,
    cert: tuple[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **client_options: Any,
) -> httpx.AsyncClient:
    """An HTTP/1.1 ``httpx.AsyncClient`` over :func:`build_transport` (or over ``transport``,
    for tests)."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    if transport is None:
        transport = build_transport(
            max_connections=max_connections, ssl_context=ssl_context, cert=cert
        )
    return httpx.AsyncClient(timeout=timeout, transport=transport, limits=limits, **client_options)
