"""A caller's ``wait_for(upload, 0.5)`` during any phase of an upload or an import returns
within 1.5 s and leaves no open server session (issue 9). Each phase is made slow by a fault
rule of the emulator, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nexus_async import AsyncClient, Project
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes

SLOW = 2000  # ms: far longer than the caller's patience
UPLOAD_PHASES: dict[str, dict[str, Any]] = {
    # The caller gives up while the POST is in flight; it is shielded for up to 0.5 s more, so
    # its answer is learned and the session rolled back.
    "creation in flight": {"route": "upload_session_create", "latency_ms": 750},
    "creation refused with Retry-After": {
        "route": "upload_session_create",
        "status": 429,
        "retry_after": 5,
        "times": 1,
    },
    "storage transfer": {"route": "storage", "latency_ms": SLOW},
    "ingestion poll": {"route": "operation_get", "latency_ms": SLOW},
}
IMPORT_PHASES: dict[str, dict[str, Any]] = {
    "creation in flight": {"route": "import_session_create", "latency_ms": 750},
    "adding files": {"route": "import_session_files", "latency_ms": SLOW},
    "storage transfer": {"route": "storage", "latency_ms": SLOW},
    # Only the commit is slow; the PATCH that marks the session failed is not.
    "commit": {"route": "import_session_update", "latency_ms": SLOW, "times": 1},
}
PATIENCE, BOUND = 0.5, 1.5


async def upload_one(project: Project, name: str) -> None:
    async with project.assets.create_upload_session() as session:
        await session.add_bytes(png_bytes(6, 6), name)


async def timed_out_after(call: Any) -> float:
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(call, PATIENCE)
    return time.monotonic() - started


@pytest.fixture
async def project(server: EmulatorServer) -> AsyncIterator[Project]:
    """The default project through a client whose retry waits are real (no ``sleeps``)."""
    async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
        yield client.get_project(server.project_id or "")


@pytest.mark.parametrize("phase", list(UPLOAD_PHASES))
async def test_an_upload_gives_up_within_a_second_of_the_callers_timeout(
    project: Project, server: EmulatorServer, phase: str
) -> None:
    server.control.add_fault(UPLOAD_PHASES[phase])
    elapsed = await timed_out_after(upload_one(project, "a.png"))
    assert elapsed < BOUND, f"{phase}: {elapsed:.2f} s"
    server.control.clear_faults()
    await asyncio.sleep(0.5)  # a POST the server was still answering lands
    assert server.control.stats()["open_upload_sessions"] == 0
    await upload_one(project, "b.png")  # the client still works


async def test_a_wait_for_the_client_side_session_limit_gives_up_at_once(
    server: EmulatorServer,
) -> None:
    async with AsyncClient(
        server.secret_key, endpoint=server.base_url, upload_sessions_per_window=1
    ) as client:
        project = client.get_project(server.project_id or "")
        await upload_one(project, "first.png")
        elapsed = await timed_out_after(upload_one(project, "second.png"))  # would wait 300 s
    assert elapsed < BOUND
    assert server.control.stats()["created"]["upload_sessions"] == 1


@pytest.mark.parametrize("phase", list(IMPORT_PHASES))
async def test_an_import_gives_up_within_a_second_of_the_callers_timeout(
    seeded: Project, server: EmulatorServer, tmp_path: Path, phase: str
) -> None:
    name = (await seeded.assets.list()).data[0].filename
    labels = tmp_path / "labels.csv"
    labels.write_text(f"filename,xmin,ymin,xmax,ymax,label\n{name},1,1,9,9,boat\n")
    server.control.add_fault(IMPORT_PHASES[phase])

    async def run_import() -> None:
        async with seeded.annotations.create_import_session() as session:
            await session.add_path(labels)

    elapsed = await timed_out_after(run_import())
    assert elapsed < BOUND, f"{phase}: {elapsed:.2f} s"
    server.control.clear_faults()
    await asyncio.sleep(SLOW / 1000 + 0.5)  # delayed requests reach the server
    for created in await seeded.annotations.list_import_sessions():
        state = await seeded.annotations.get_import_session(created.id)
        assert state.status.overview == "Errored", f"{phase}: left {state.status.overview}"
    assert [a async for a in seeded.annotations.iter()] == []  # nothing half-committed
