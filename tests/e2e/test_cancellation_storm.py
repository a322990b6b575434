"""A cancellation storm on one shared client leaves it healthy.

30 tasks share one :class:`AsyncClient` while the emulator delays three quarters of its API
answers (half before the server acts, a quarter after) and half of its storage answers by up
to 400 ms. Each task keeps calling (API reads, one-file asset upload sessions, operation
polls), every call wrapped in ``asyncio.wait_for`` with a short random timeout, so callers
cancel requests at every stage: waiting for a pool slot, connecting, sending, reading, closing
a response, and inside upload sessions. Afterwards, with the faults cleared, every kind of call
must succeed within its timeout, the API pool must hold no leaked request or orphaned
connection, and no upload session may stay open on the server.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import httpx
import pytest

from nexus_async import AsyncClient, NexusError, PoolTimeoutError, Project
from nexus_async._http import ReclaimingConnectionPool
from nexus_async.emulator import EmulatorConfig, RateLimitConfig
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes

SEED = 20_240_611
TASKS = 30
STORM_SECONDS = 6.0
# Caller timeouts (seconds), drawn per call. An upload session makes four round trips (project,
# session, storage, operation), so it gets longer ones: some must also succeed mid-storm.
CALL_TIMEOUTS = {"api": (0.01, 0.6), "upload": (0.05, 2.0), "poll": (0.01, 0.6)}
API_PATHS = r"^/(workspace|projects)(/|$)"  # every API route; not /_storage/ nor /_emulator/
HANG_GRACE = 5.0  # a call that outlives its caller's timeout by this much hangs
RECOVERY_TIMEOUT = 10.0
OPEN_SESSIONS_WAIT = 15.0
PNG = png_bytes(16, 16)
KINDS = ("api", "upload", "poll")


@dataclass
class Tally:
    """Outcomes of the storm's calls, per kind of call."""

    ok: Counter[str] = field(default_factory=Counter)
    timed_out: Counter[str] = field(default_factory=Counter)
    sdk_errors: Counter[str] = field(default_factory=Counter)
    unexpected: list[tuple[str, BaseException]] = field(default_factory=list)
    overrun: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    op_ids: list[str] = field(default_factory=list)


@pytest.fixture
def storm_server() -> Iterator[EmulatorServer]:
    """An emulator without the upload-session rate limit (the storm opens hundreds)."""
    with EmulatorServer(EmulatorConfig(rate_limit=RateLimitConfig(enabled=False))) as server:
        yield server


def _api_pool(client: AsyncClient) -> ReclaimingConnectionPool:
    pool = client._transport._http._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool, ReclaimingConnectionPool)
    return pool


async def _upload_one(project: Project, name: str) -> list[str]:
    """One upload session of one PNG; returns its operation ids."""
    async with project.assets.create_upload_session() as session:
        await session.add_bytes(PNG, name)
    return session.get_operation_ids()


async def _wait_until_no_open_upload_session(server: EmulatorServer) -> tuple[int, float]:
    """Poll the emulator until no upload session is open (or give up); (open, seconds)."""
    started = time.monotonic()
    while True:
        open_sessions = int(server.control.stats()["open_upload_sessions"])
        waited = time.monotonic() - started
        if open_sessions == 0 or waited >= OPEN_SESSIONS_WAIT:
            return open_sessions, waited
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("storage_engine", ["aiohttp", "httpx"])
async def test_a_cancellation_storm_leaves_the_shared_client_healthy(
    storm_server: EmulatorServer,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
    storage_engine: Literal["aiohttp", "httpx"],
) -> None:
    caplog.set_level(logging.WARNING, logger="nexus_async")
    server = storm_server
    assert server.project_id is not None
    assert server.secret_key is not None
    rng = random.Random(SEED)
    names = (f"storm-{n:05d}.png" for n in itertools.count())
    async with AsyncClient(
        server.secret_key,
        endpoint=server.base_url,
        upload_sessions_per_window=None,
        storage_engine=storage_engine,
    ) as client:
        project = client.get_project(server.project_id)
        first_ops = await _upload_one(project, next(names))
        assert len(first_ops) == 1
        tally = Tally(op_ids=list(first_ops))

        # Half the API answers are delayed before the server acts, a quarter after it acted
        # (the caller gives up on a call the server did carry out), a quarter not at all.
        server.control.add_fault({"path": API_PATHS, "latency_ms": [1, 400], "error_rate": 0.5})
        server.control.add_fault(
            {"path": API_PATHS, "latency_ms": [1, 400], "error_rate": 0.5, "when": "after"}
        )
        server.control.add_fault({"route": "storage", "latency_ms": [1, 400], "error_rate": 0.5})

        def pick_call(task_rng: random.Random) -> tuple[str, Callable[[], Awaitable[object]]]:
            roll = task_rng.random()
            if roll < 0.5:
                api: list[Callable[[], Awaitable[object]]] = [
                    project.get_info,
                    project.assets.list,
                    client.get_info,
                ]
                return "api", task_rng.choice(api)
            if roll < 0.75:
                name = next(names)
                return "upload", lambda: _upload_one(project, name)
            op_id = task_rng.choice(tally.op_ids)
            if task_rng.random() < 0.5:
                return "poll", lambda: project.operations.wait_until_done(op_id, timeout=5)
            return "poll", lambda: project.operations.get(op_id)

        async def caller(task_rng: random.Random, deadline: float) -> None:
            while time.monotonic() < deadline:
                kind, call = pick_call(task_rng)
                timeout = task_rng.uniform(*CALL_TIMEOUTS[kind])
                started = time.monotonic()
                try:
                    result = await asyncio.wait_for(call(), timeout)
                except NexusError:  # before TimeoutError: APITimeoutError is one too
                    tally.sdk_errors[kind] += 1
                except TimeoutError:
                    tally.timed_out[kind] += 1
                except Exception as exc:  # anything else escaping the SDK is a bug
                    tally.unexpected.append((kind, exc))
                else:
                    tally.ok[kind] += 1
                    if kind == "upload":
                        assert isinstance(result, list)
                        tally.op_ids.extend(result)
                elapsed = time.monotonic() - started
                tally.overrun[kind] = max(tally.overrun[kind], elapsed - timeout)

        started = time.monotonic()
        deadline = started + STORM_SECONDS
        seeds = [rng.randrange(2**32) for _ in range(TASKS)]
        await asyncio.gather(*(caller(random.Random(s), deadline) for s in seeds))
        storm_took = time.monotonic() - started
        assert server.control.stats()["faults"]["triggered"] > 0
        assert not _api_pool(client)._requests, "requests left in the API pool after the storm"
        server.control.clear_faults()
        overrun = {kind: round(seconds, 2) for kind, seconds in tally.overrun.items()}
        print(
            f"\nstorm: {storm_took:.1f} s, ok {dict(tally.ok)}, timed out "
            f"{dict(tally.timed_out)}, SDK errors {dict(tally.sdk_errors)}, longest time past "
            f"the caller's timeout (s) {overrun}"
        )
        assert tally.unexpected == [], f"non-SDK exceptions escaped: {tally.unexpected[:5]}"
        hung = {kind: seconds for kind, seconds in overrun.items() if seconds >= HANG_GRACE}
        assert hung == {}, f"calls outlived their caller's timeout by {HANG_GRACE} s or more"
        for kind in KINDS:  # the storm really cancelled, and really got through, every kind
            assert tally.timed_out[kind] > 0, f"no {kind} call was cancelled"
            assert tally.ok[kind] > 0, f"no {kind} call succeeded during the storm"

        # Recovery: each kind of call works again, within its timeout.
        info = await asyncio.wait_for(project.get_info(timeout=2, max_retries=0), RECOVERY_TIMEOUT)
        assert info.id == server.project_id
        workspace = await asyncio.wait_for(
            client.get_info(timeout=2, max_retries=0), RECOVERY_TIMEOUT
        )
        assert workspace.id == server.workspace_id
        page = await asyncio.wait_for(project.assets.list(timeout=2), RECOVERY_TIMEOUT)
        assert page.data
        new_name = next(names)
        new_ops = await asyncio.wait_for(_upload_one(project, new_name), RECOVERY_TIMEOUT)
        assert (await project.assets.get(new_name, timeout=2)).filename == new_name
        for op_id in (first_ops[0], new_ops[0]):
            done = await asyncio.wait_for(
                project.operations.wait_until_done(op_id, timeout=5), RECOVERY_TIMEOUT
            )
            assert done.status.overview == "Finished"

        pool = _api_pool(client)
        assert pool._requests == [], "requests leaked in the API pool"
        busy = [c for c in pool._connections if not (c.is_idle() or c.is_closed())]
        assert busy == [], f"API pool connections neither idle nor closed: {busy}"

        open_sessions, waited = await _wait_until_no_open_upload_session(server)
        print(f"open upload sessions: {open_sessions} after waiting {waited:.2f} s")
        assert open_sessions == 0, (
            f"{open_sessions} upload session(s) still open on the server {waited:.1f} s "
            f"after the storm: {_open_session_report(server, caplog)}"
        )


def _open_session_report(server: EmulatorServer, caplog: pytest.LogCaptureFixture) -> str:
    """The open sessions (server side) and what the SDK logged about each."""
    assert server.emulator is not None
    state = server.emulator.state
    lines = []
    for session in list(state.store.upload_sessions.values()):
        if state.session_is_open(session):
            said = [r.getMessage() for r in caplog.records if session.id in r.getMessage()]
            lines.append(f"{session.id} (created at {session.created_at}): SDK logged {said}")
    return "; ".join(lines)


async def test_a_full_api_pool_raises_pool_timeout_error_instead_of_hanging(
    server: EmulatorServer,
) -> None:
    server.control.add_fault({"path": "^/workspace$", "latency_ms": 1500})
    timeout = httpx.Timeout(10.0, pool=0.3)
    async with AsyncClient(server.secret_key, endpoint=server.base_url, timeout=timeout) as client:
        busy = [asyncio.ensure_future(client.get_info()) for _ in range(8)]  # every connection
        await asyncio.sleep(0.2)
        with pytest.raises(PoolTimeoutError) as caught:
            await client.get_info(max_retries=0)
        await asyncio.gather(*busy)
    assert caught.value.pool == "api"
    assert "api pool (8 connections) within 0.3 s" in str(caught.value)
