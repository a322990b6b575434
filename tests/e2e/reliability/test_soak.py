"""Soak: 200 tasks share one client for minutes of caller-side timeouts, and nothing piles up.

The emulator runs in a subprocess (its CPU and file descriptors are its own), with light
latency on API and storage answers and a few 503s on reads. Each task keeps making mixed calls
(API reads, one-file upload sessions, operation polls), each under ``asyncio.wait_for`` with a
random 0.05-2 s timeout. Every call must end (success, caller timeout or SDK error) within its
timeout + 5 s; this process's open file descriptors and RSS, sampled every ~10 s, must not grow
after the warm-up (the first 10 % of the run); a fresh call must then succeed.

``NEXUS_SOAK_SECONDS`` sets the duration (default 300). Run by hand::

    NEXUS_SOAK_SECONDS=20 pytest -s -m slow tests/e2e/reliability/test_soak.py
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from nexus_async import AsyncClient, NexusError, Project
from nexus_async._http import ReclaimingConnectionPool
from nexus_async.emulator import EmulatorConfig
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes

SOAK_SECONDS = float(os.environ.get("NEXUS_SOAK_SECONDS", "300"))
SEED = 7_411
TASKS = 200
CALL_TIMEOUT = (0.05, 2.0)  # seconds, drawn per call
HANG_GRACE = 5.0  # a call still running this long after its timeout is a hang
SAMPLE_EVERY = 10.0
WARM_UP = 0.1  # fraction of the run before the baseline sample
FD_SLACK = 20
RSS_GROWTH_MAX = 50 * 1024 * 1024
OPEN_SESSIONS_WAIT = 15.0
API_PATHS = r"^/(workspace|projects)(/|$)"
PNG = png_bytes(12, 12)


@dataclass
class Sample:
    """One reading of this process's resources."""

    at: float
    fds: int
    rss: int


@dataclass
class Soak:
    """What happened to the calls."""

    calls: Counter[str] = field(default_factory=Counter)
    ok: int = 0
    timeouts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    unexpected: list[tuple[str, BaseException]] = field(default_factory=list)
    hangs: list[tuple[str, float, asyncio.Task[object]]] = field(default_factory=list)
    op_ids: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    samples: list[Sample] = field(default_factory=list)


def _sample(at: float) -> Sample:
    with open("/proc/self/status") as status:
        rss_kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return Sample(at=at, fds=len(os.listdir("/proc/self/fd")), rss=rss_kib * 1024)


def _mib(size: int) -> float:
    return size / (1024 * 1024)


async def _upload_one(project: Project, name: str) -> list[str]:
    async with project.assets.create_upload_session() as session:
        await session.add_bytes(PNG, name)
    return session.get_operation_ids()


@pytest.mark.slow
async def test_soak_of_one_shared_client_under_caller_timeouts() -> None:
    config = EmulatorConfig()
    async with EmulatorServer(config, mode="subprocess", cli_args=["--no-rate-limit"]) as server:
        assert server.secret_key is not None
        assert server.project_id is not None
        async with AsyncClient(
            server.secret_key, endpoint=server.base_url, upload_sessions_per_window=None
        ) as client:
            project = client.get_project(server.project_id)
            await _soak(server, client, project)


async def _soak(server: EmulatorServer, client: AsyncClient, project: Project) -> None:
    names = (f"soak-{n:07d}.png" for n in itertools.count())
    soak = Soak()
    soak.op_ids.extend(await _upload_one(project, next(names)))
    server.control.add_fault({"path": API_PATHS, "latency_ms": [0, 150], "error_rate": 0.3})
    server.control.add_fault({"route": "storage", "latency_ms": [0, 150], "error_rate": 0.3})
    server.control.add_fault(
        {"method": "GET", "path": API_PATHS, "status": 503, "error_rate": 0.02}
    )

    def pick(rng: random.Random) -> tuple[str, Callable[[], Awaitable[object]]]:
        roll = rng.random()
        if roll < 0.55:
            api: list[tuple[str, Callable[[], Awaitable[object]]]] = [
                ("project.get_info", project.get_info),
                ("assets.list", lambda: project.assets.list(limit=20)),
                ("client.get_info", client.get_info),
            ]
            return rng.choice(api)
        if roll < 0.8:
            name = next(names)
            return "upload", lambda: _upload_one(project, name)
        op_id = rng.choice(soak.op_ids)
        if rng.random() < 0.5:
            return "operations.wait", lambda: project.operations.wait_until_done(op_id, timeout=5)
        return "operations.get", lambda: project.operations.get(op_id)

    async def worker(rng: random.Random, deadline: float) -> None:
        while time.monotonic() < deadline:
            kind, call = pick(rng)
            timeout = rng.uniform(*CALL_TIMEOUT)
            soak.calls[kind] += 1
            inner = asyncio.ensure_future(asyncio.wait_for(call(), timeout))
            done, _ = await asyncio.wait({inner}, timeout=timeout + HANG_GRACE)
            if not done:  # left running: how long it really takes is reported at the end
                soak.hangs.append((kind, timeout, inner))
                continue
            try:
                result = inner.result()
            except NexusError as exc:  # before TimeoutError: APITimeoutError is one too
                soak.errors[type(exc).__name__] += 1
            except TimeoutError:
                soak.timeouts += 1
            except Exception as exc:  # anything else escaping the SDK is a bug
                soak.unexpected.append((kind, exc))
            else:
                soak.ok += 1
                if kind == "upload":
                    assert isinstance(result, list)
                    soak.op_ids.extend(result)

    async def sampler(started: float, stop: asyncio.Event) -> None:
        await asyncio.sleep(SOAK_SECONDS * WARM_UP)
        while not stop.is_set():
            soak.samples.append(_sample(time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)

    rng = random.Random(SEED)
    started = time.monotonic()
    deadline = started + SOAK_SECONDS
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler(started, stop))
    await asyncio.gather(
        *(worker(random.Random(rng.randrange(2**32)), deadline) for _ in range(TASKS))
    )
    stop.set()
    await sampling
    ran = time.monotonic() - started

    # Hung calls: give them a bounded while to end, to say how long they really took.
    hang_report = []
    if soak.hangs:
        waited_from = time.monotonic()
        await asyncio.wait([task for _, _, task in soak.hangs], timeout=30)
        for kind, timeout, task in soak.hangs:
            if task.done():
                outcome = "cancelled" if task.cancelled() else repr(task.exception())
                hang_report.append(f"{kind} (timeout {timeout:.2f} s) ended late: {outcome}")
            else:
                hang_report.append(
                    f"{kind} (timeout {timeout:.2f} s) still running "
                    f"{time.monotonic() - waited_from:.0f} s after the soak"
                )
                task.cancel()
        await asyncio.gather(*(task for _, _, task in soak.hangs), return_exceptions=True)

    server.control.clear_faults()
    end = _sample(time.monotonic() - started)
    soak.samples.append(end)
    base = soak.samples[0]
    peak_rss = max(sample.rss for sample in soak.samples)
    open_sessions = await _open_upload_sessions(server)
    total = sum(soak.calls.values())
    print(
        f"\nsoak: {ran:.0f} s, {TASKS} tasks, {total} calls ({dict(soak.calls)}), ok {soak.ok}, "
        f"timeouts {soak.timeouts}, SDK errors {sum(soak.errors.values())} "
        f"({dict(soak.errors)}), unexpected {len(soak.unexpected)}, hangs {len(soak.hangs)}; "
        f"fds {base.fds} at {base.at:.0f} s -> {end.fds} at end; RSS {_mib(base.rss):.1f} MiB "
        f"-> {_mib(end.rss):.1f} MiB (peak {_mib(peak_rss):.1f}); "
        f"open upload sessions {open_sessions}"
    )
    print(
        "samples (s, fds, RSS MiB):",
        [(round(s.at), s.fds, round(_mib(s.rss), 1)) for s in soak.samples],
    )

    assert total > TASKS, "the soak made too few calls to mean anything"
    assert soak.ok > 0, "no call succeeded during the soak"
    assert soak.timeouts > 0, "no caller timeout fired during the soak"
    assert soak.unexpected == [], f"non-SDK exceptions escaped: {soak.unexpected[:5]}"
    assert soak.hangs == [], f"{len(soak.hangs)} call(s) hung: {hang_report[:10]}"
    assert end.fds <= base.fds + FD_SLACK, f"file descriptors grew: {base.fds} -> {end.fds}"
    assert peak_rss - base.rss < RSS_GROWTH_MAX, (
        f"RSS grew {_mib(peak_rss - base.rss):.1f} MiB after the warm-up"
    )

    # A fresh call, and every kind of call, still works on the same client.
    workspace = await asyncio.wait_for(client.get_info(timeout=5, max_retries=0), 10)
    assert workspace.id == server.workspace_id
    new_name = next(names)
    ops = await asyncio.wait_for(_upload_one(project, new_name), 10)
    operation = await asyncio.wait_for(project.operations.wait_until_done(ops[0], timeout=5), 10)
    assert operation.status.overview == "Finished"
    pool = client._transport._http._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool, ReclaimingConnectionPool)
    assert pool._requests == [], "requests leaked in the API pool"
    busy = [c for c in pool._connections if not (c.is_idle() or c.is_closed())]
    assert busy == [], f"API pool connections neither idle nor closed: {busy}"
    assert open_sessions == 0, f"{open_sessions} upload session(s) left open on the server"


async def _open_upload_sessions(server: EmulatorServer) -> int:
    """Open upload sessions on the server, once cleanups had up to 15 s to finish."""
    waited_from = time.monotonic()
    while True:
        count = int(server.control.stats()["open_upload_sessions"])
        if count == 0 or time.monotonic() - waited_from >= OPEN_SESSIONS_WAIT:
            return count
        await asyncio.sleep(0.2)
