"""The connection pool keeps its slots whatever a caller's cancellation interrupts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpcore
import httpx
import pytest

from nexus_async import PoolTimeoutError
from nexus_async._http import (
    ReclaimingConnectionPool,
    api_timeout,
    build_http_client,
    pool_timeout_error,
)


@pytest.fixture
async def origin() -> AsyncIterator[str]:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 that answers ``{}`` to every request."""

    writers: set[asyncio.StreamWriter] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/"
    for writer in writers:
        writer.close()
    await asyncio.sleep(0)


TIMEOUTS = {"pool": 0.5, "connect": 2.0, "read": 2.0, "write": 2.0}


def _orphan(pool: httpcore.AsyncConnectionPool, url: str) -> None:
    """The state a cancellation leaves behind: a connection assigned to a request that was
    cancelled before it opened it, owned by nobody (encode/httpcore#1093)."""
    connection = pool.create_connection(httpcore.URL(url).origin)
    pool._connections.append(connection)


async def test_the_stock_pool_loses_an_orphaned_slot_for_good(origin: str) -> None:
    # Documents the bug the engine exists for: if this starts passing, httpcore fixed it.
    async with httpcore.AsyncConnectionPool(max_connections=1) as pool:
        _orphan(pool, origin)
        with pytest.raises(httpcore.PoolTimeout):
            await pool.request("GET", origin, extensions={"timeout": TIMEOUTS})


async def test_an_orphaned_connection_is_reclaimed_at_the_next_request(origin: str) -> None:
    async with ReclaimingConnectionPool(max_connections=1) as pool:
        _orphan(pool, origin)
        response = await pool.request("GET", origin, extensions={"timeout": TIMEOUTS})
        assert response.status == 200
        assert len(pool.connections) == 1
        assert pool.connections[0].is_idle()


async def test_a_cancelled_response_close_still_frees_its_request(origin: str) -> None:
    async with ReclaimingConnectionPool(max_connections=1) as pool:
        extensions = {"timeout": TIMEOUTS}
        async with pool.stream("GET", origin, extensions=extensions) as response:
            inner = response.stream._stream  # type: ignore[union-attr]

            async def cancelled_close() -> None:
                raise asyncio.CancelledError

            inner._stream.aclose = cancelled_close
            with pytest.raises(asyncio.CancelledError):
                await response.aclose()
        assert pool._requests == []
        again = await pool.request("GET", origin, extensions=extensions)
        assert again.status == 200


async def test_cancellation_storm_leaves_every_slot_usable(origin: str) -> None:
    client = build_http_client(max_connections=2, timeout=httpx.Timeout(2.0, pool=1.0))
    async with client:

        async def caller(index: int) -> None:
            for attempt in range(20):
                with contextlib.suppress(asyncio.TimeoutError):
                    # Timeouts from 0 to ~1 ms land in every phase of the request.
                    await asyncio.wait_for(client.get(origin), (index * attempt % 7) / 5000)

        await asyncio.gather(*(caller(i) for i in range(20)))
        answers = await asyncio.gather(*(client.get(origin) for _ in range(4)))
        assert [answer.status_code for answer in answers] == [200] * 4
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert pool._requests == []
        assert all(c.is_idle() for c in pool.connections)


def test_a_per_call_timeout_also_bounds_the_pool_wait() -> None:
    assert api_timeout(2).pool == 2
    assert api_timeout(None).pool == 30.0
    assert api_timeout(120).pool == 30.0


def test_pool_timeout_error_names_the_pool_and_the_wait() -> None:
    request = httpx.Request("GET", "https://api.example/projects/p1", extensions={})
    request.extensions["timeout"] = {"pool": 30.0}
    error = pool_timeout_error(request, pool="api", max_connections=8)
    assert isinstance(error, PoolTimeoutError)
    assert (error.pool, error.timeout, error.may_have_reached_server) == ("api", 30.0, False)
    assert "api pool (8 connections) within 30 s" in str(error)
    assert "GET /projects/p1" in str(error)
