"""Which HTTP engine survives callers that cancel? ``python -m benchmarks.wedge [--runs N]``.

The scenario of issue 9: one shared client, 30 tasks x 30 calls of
``asyncio.wait_for(project.get_info(), 0.2)`` while the emulator delays half the API answers by
1-400 ms; then the faults are cleared and one more call (``timeout=2, max_retries=0``) must
answer. A run whose last call does not answer within 15 s counts as wedged.

Engines (all behind ``AsyncClient(http_client=...)``, 8 connections):

* ``httpx-stock``: httpx's own transport (httpcore 1.0.9 pool), pool wait unbounded;
* ``httpx-aiohttp``: httpx over the ``httpx-aiohttp`` transport (when installed);
* ``nexus_async``: the SDK's default engine (httpx over :class:`ReclaimingConnectionPool`).

Then 500 calls, 20 at a time, without faults: wall time and this process's CPU per call.
The emulator runs in a child process pinned to core 0 and this client to core 1 (when the
machine has two cores). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections.abc import Callable

import httpx

from nexus_async import AsyncClient
from nexus_async._constants import API_MAX_CONNECTIONS
from nexus_async.emulator import EmulatorServer

STORM_TASKS, STORM_CALLS, STORM_TIMEOUT = 30, 30, 0.2
PROBE_DEADLINE = 15.0
LOAD_CALLS, LOAD_CONCURRENCY = 500, 20
LATENCY_RULE = {"path": "^/projects", "latency_ms": [1, 400], "error_rate": 0.5}


def _engines() -> dict[str, Callable[[], httpx.AsyncClient | None]]:
    limits = httpx.Limits(
        max_connections=API_MAX_CONNECTIONS, max_keepalive_connections=API_MAX_CONNECTIONS
    )
    timeout = httpx.Timeout(60.0, connect=10.0, pool=None)
    engines: dict[str, Callable[[], httpx.AsyncClient | None]] = {
        "httpx-stock": lambda: httpx.AsyncClient(limits=limits, timeout=timeout),
        "nexus_async": lambda: None,
    }
    with contextlib.suppress(ImportError):
        from httpx_aiohttp import AiohttpTransport

        engines["httpx-aiohttp"] = lambda: httpx.AsyncClient(
            transport=AiohttpTransport(limits=limits), timeout=timeout
        )
    return engines


async def _storm(server: EmulatorServer, client: AsyncClient) -> bool:
    """One storm; True when the client still answers afterwards."""
    project = client.get_project(server.project_id or "")

    async def caller() -> None:
        for _ in range(STORM_CALLS):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(project.get_info(), STORM_TIMEOUT)

    rule = await asyncio.to_thread(server.control.add_fault, dict(LATENCY_RULE))
    try:
        await asyncio.gather(*(caller() for _ in range(STORM_TASKS)))
    finally:
        await asyncio.to_thread(server.control.clear_faults)
    del rule
    try:
        await asyncio.wait_for(project.get_info(timeout=2, max_retries=0), PROBE_DEADLINE)
    except Exception:
        return False
    return True


async def _load(server: EmulatorServer, client: AsyncClient) -> tuple[float, float]:
    """Wall seconds and CPU ms per call of LOAD_CALLS calls, LOAD_CONCURRENCY at once."""
    project = client.get_project(server.project_id or "")
    limiter = asyncio.Semaphore(LOAD_CONCURRENCY)

    async def call() -> None:
        async with limiter:
            await project.get_info()

    await call()  # warm the pool
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(call() for _ in range(LOAD_CALLS)))
    wall = time.perf_counter() - wall
    return wall, (time.process_time() - cpu) * 1000 / LOAD_CALLS


async def _measure(server: EmulatorServer, make: Callable[[], httpx.AsyncClient | None]) -> bool:
    http = make()
    client = AsyncClient(server.secret_key, endpoint=server.base_url, http_client=http)
    try:
        return await _storm(server, client)
    finally:
        await client.aclose()
        if http is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(http.aclose(), 5)


async def main(runs: int) -> None:
    """Storm every engine ``runs`` times (engines interleaved), then load each once."""
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    engines = _engines()
    wedged = dict.fromkeys(engines, 0)
    async with EmulatorServer(mode="subprocess", cli_args=["--no-rate-limit"]) as server:
        if (os.cpu_count() or 1) >= 2 and server._process is not None:
            os.sched_setaffinity(server._process.pid, {0})
        for run in range(runs):
            for name, make in engines.items():
                ok = await _measure(server, make)
                wedged[name] += not ok
                print(f"run {run + 1}/{runs} {name}: {'ok' if ok else 'WEDGED'}", flush=True)
        print()
        print("| engine | wedged runs | 500 calls, 20 at once: wall | client CPU per call |")
        print("|---|---|---|---|")
        for name, make in engines.items():
            http = make()
            async with AsyncClient(
                server.secret_key, endpoint=server.base_url, http_client=http
            ) as client:
                wall, cpu_ms = await _load(server, client)
            if http is not None:
                await http.aclose()
            print(f"| {name} | {wedged[name]}/{runs} | {wall:.2f} s | {cpu_ms:.2f} ms |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
