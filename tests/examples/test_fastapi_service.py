"""examples/fastapi_backend.py as a service: a real uvicorn process on 127.0.0.1, real HTTP,
and the emulator in another process with its upload-session limit ON (15 per 300 s).

* 200 concurrent image uploads are all stored exactly once, in at most 15 upload sessions,
  none slower than ``max_delay`` + 10 s;
* SIGTERM with uploads in flight: the requests finish, the process exits by itself with
  status 0 and no upload session is left open;
* SIGTERM with uploads stuck past the shutdown grace: the process still exits by itself, the
  stuck sessions are cancelled, the batch not sent yet is never sent, no request hangs.

``max_delay`` is lowered to a few seconds through NEXUS_UPLOAD_MAX_DELAY to keep this fast.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from nexus_async import AsyncClient
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0
EXIT_TIMEOUT = 30.0  # a clean shutdown ends by itself within this, without a second signal

# What a client may see from a server that stops: an answer, or the connection going away.
CONNECTION_LOST = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """The emulator in its own process, default settings: the session limit is on."""
    with EmulatorServer(mode="subprocess") as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class App:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_app(
    command: list[str], emulator: EmulatorServer, tmp_path: Path, **env: str
) -> Iterator[App]:
    """Start the example app with ``command`` (``{port}`` is filled in), wait until it answers
    over HTTP, and kill it on the way out if it is still running."""
    assert emulator.secret_key is not None
    assert emulator.project_id is not None
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "DATATURE_"))}
    environ.update(
        NEXUS_SECRET_KEY=emulator.secret_key,
        DATATURE_API_BASE_URL=emulator.base_url,
        NEXUS_PROJECT_ID=emulator.project_id,
        PYTHONUNBUFFERED="1",
        **env,
    )
    log = tmp_path / f"app-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [part.format(port=port) for part in command],
            cwd=ROOT,
            env=environ,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    app = App(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:  # uvicorn listens once the lifespan (client, uploader) started
            assert process.poll() is None, f"the app exited early:\n{app.output()}"
            assert time.monotonic() < deadline, f"the app did not start:\n{app.output()}"
            try:
                if httpx.get(app.url + "/openapi.json", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield app
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def uvicorn_command() -> list[str]:
    """``python -m uvicorn examples.fastapi_backend:app``, as a deployment runs it."""
    app = "examples.fastapi_backend:app"
    return [sys.executable, "-m", "uvicorn", app, "--host=127.0.0.1", "--port={port}"]


def main_command() -> list[str]:
    """``python examples/fastapi_backend.py``: its own server ends with status 0 on SIGTERM."""
    return [sys.executable, str(ROOT / "examples" / "fastapi_backend.py"), "--port={port}"]


def images(count: int, prefix: str) -> dict[str, bytes]:
    """``count`` distinct small PNGs by file name."""
    return {
        f"{prefix}-{i:03d}.png": png_bytes(8 + i % 40, 8 + i % 30, extra=i.to_bytes(2, "big"))
        for i in range(count)
    }


@dataclass
class Outcome:
    filename: str
    latency: float
    response: httpx.Response | None = None
    error: Exception | None = None


async def upload_all(url: str, files: dict[str, bytes], outcomes: list[Outcome]) -> None:
    """POST every file at once, one connection each; record each answer and its latency."""
    limits = httpx.Limits(max_connections=len(files), max_keepalive_connections=len(files))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0) as http:

        async def upload(filename: str, data: bytes) -> None:
            started = time.perf_counter()
            outcome = Outcome(filename, 0.0)
            try:
                outcome.response = await http.post(
                    "/images", files={"file": (filename, data, "image/png")}
                )
            except httpx.TransportError as error:
                outcome.error = error
            outcome.latency = time.perf_counter() - started
            outcomes.append(outcome)

        async with anyio.create_task_group() as group:
            for filename, data in files.items():
                group.start_soon(upload, filename, data)


async def stored_assets(emulator: EmulatorServer) -> dict[str, int]:
    """File name -> size of every asset of the project, read through the SDK."""
    assert emulator.project_id is not None
    async with AsyncClient(emulator.secret_key, endpoint=emulator.base_url) as client:
        project = client.get_project(emulator.project_id)
        sizes: dict[str, int] = {}
        async for asset in project.assets.iter():
            assert asset.filename not in sizes, f"{asset.filename} is stored twice"
            sizes[asset.filename] = asset.metadata.file_size
        return sizes


def stats(emulator: EmulatorServer) -> dict[str, Any]:
    return emulator.control.stats()


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``condition`` (the state of other processes) until it holds; fail after
    ``within`` seconds."""
    with anyio.fail_after(within):
        while not condition():  # noqa: ASYNC110 (nothing to wait on but polling)
            await anyio.sleep(0.05)


async def stop(app: App) -> float:
    """SIGTERM once; the seconds the process took to exit by itself."""
    started = time.perf_counter()
    app.process.send_signal(signal.SIGTERM)
    await wait_until(lambda: app.process.poll() is not None, within=EXIT_TIMEOUT)
    return time.perf_counter() - started


async def test_200_concurrent_uploads(emulator: EmulatorServer, tmp_path: Path) -> None:
    max_delay = 3.0
    files = images(200, "load")
    outcomes: list[Outcome] = []
    with running_app(
        uvicorn_command(), emulator, tmp_path, NEXUS_UPLOAD_MAX_DELAY=str(max_delay)
    ) as app:
        started = time.perf_counter()
        await upload_all(app.url, files, outcomes)
        wall = time.perf_counter() - started
        shutdown = await stop(app)
        # uvicorn re-raises the SIGTERM it shut down for, after its graceful shutdown.
        assert app.process.returncode in (0, -signal.SIGTERM), app.output()
        assert "Application shutdown complete" in app.output()

    assert len(outcomes) == 200
    failed = [(o.filename, o.error or o.response) for o in outcomes if o.error is not None]
    assert not failed
    answers = {o.filename: o.response for o in outcomes if o.response is not None}
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(files, 201), [
        r.text for r in answers.values() if r.status_code != 201
    ][:3]
    bodies = {name: r.json() for name, r in answers.items()}
    assert {name: body["filename"] for name, body in bodies.items()} == {n: n for n in files}
    assert {name: body["size"] for name, body in bodies.items()} == {
        name: len(data) for name, data in files.items()
    }
    sessions = {body["session_id"] for body in bodies.values()}
    assert len({body["operation_id"] for body in bodies.values()}) == len(sessions)

    # Stored exactly once each: 200 assets, 200 storage transfers, nothing left open.
    assert await stored_assets(emulator) == {name: len(data) for name, data in files.items()}
    counters = stats(emulator)
    assert counters["assets_stored"] == 200
    assert counters["storage"]["requests"] == 200
    assert counters["open_upload_sessions"] == 0
    # Within the session limit, and no session created beyond those the answers name.
    assert counters["created"]["upload_sessions"] == len(sessions) <= 15
    latencies = sorted(o.latency for o in outcomes)
    assert latencies[-1] <= max_delay + 10
    print(
        f"\n200 uploads: wall {wall:.2f} s, latency median {latencies[100]:.2f} s "
        f"max {latencies[-1]:.2f} s, {len(sessions)} upload session(s), "
        f"shutdown {shutdown:.2f} s"
    )


async def test_sigterm_lets_uploads_in_flight_finish(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    max_delay = 5.0
    files = images(40, "drain")
    outcomes: list[Outcome] = []
    with running_app(
        main_command(), emulator, tmp_path, NEXUS_UPLOAD_MAX_DELAY=str(max_delay)
    ) as app:
        # A first upload goes out at once and takes the session slot of the next 21 s...
        warm: list[Outcome] = []
        await upload_all(app.url, images(1, "first"), warm)
        assert warm[0].response is not None
        assert warm[0].response.status_code == 201
        async with anyio.create_task_group() as group:
            # ... so these wait in the uploader for max_delay: SIGTERM finds them in flight.
            group.start_soon(upload_all, app.url, files, outcomes)
            await anyio.sleep(2.0)
            assert not outcomes
            shutdown = await stop(app)
        assert app.process.returncode == 0, app.output()
        assert "Application shutdown complete" in app.output()

    # Every request accepted before the signal was answered, and its file is stored.
    assert len(outcomes) == len(files)
    assert {o.filename: o.response.status_code if o.response else o.error for o in outcomes} == (
        dict.fromkeys(files, 201)
    )
    assert shutdown <= max_delay + 10
    assert max(o.latency for o in outcomes) <= max_delay + 10
    assert await stored_assets(emulator) == {
        name: len(data) for name, data in {**images(1, "first"), **files}.items()
    }
    counters = stats(emulator)
    assert counters["open_upload_sessions"] == 0
    assert counters["storage"]["requests"] == len(files) + 1
    assert counters["created"]["upload_sessions"] == 2
    print(f"\nSIGTERM with {len(files)} uploads in flight: exited in {shutdown:.2f} s")


async def test_sigterm_with_uploads_stuck_past_the_grace(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    """Storage transfers hang (20 s) and the shutdown grace is 1 s. A first wave of files is
    sent at once and hangs; a second waits for ``max_delay``. At the signal + 1 s uvicorn
    cancels the requests (the waiting files leave their batch); at + 2 s the lifespan stops
    the hanging batch, whose session is cancelled."""
    sent, waiting = images(10, "sent"), images(20, "waiting")
    outcomes: list[Outcome] = []
    emulator.control.add_fault({"route": "storage", "latency_ms": 20_000})
    with running_app(
        main_command(),
        emulator,
        tmp_path,
        NEXUS_UPLOAD_MAX_DELAY="6",
        NEXUS_SHUTDOWN_TIMEOUT="1",
    ) as app:
        async with anyio.create_task_group() as group:
            group.start_soon(upload_all, app.url, sent, outcomes)
            await wait_until(lambda: stats(emulator)["faults"]["triggered"] >= 1)
            group.start_soon(upload_all, app.url, waiting, outcomes)
            await anyio.sleep(1.0)
            assert stats(emulator)["open_upload_sessions"] == 1
            assert not outcomes
            shutdown = await stop(app)
            # No request hangs once the server is gone.
            await wait_until(lambda: len(outcomes) == len(sent) + len(waiting))
        assert app.process.returncode == 0, app.output()
        assert "uploads still running 1 s after shutdown were stopped" in app.output()
        assert "Application shutdown complete" in app.output()

    assert shutdown < 10
    for outcome in outcomes:  # an error answer or a closed connection; nothing was stored
        if outcome.response is not None:
            assert outcome.response.status_code >= 500, outcome.response.text
        else:
            assert isinstance(outcome.error, CONNECTION_LOST), repr(outcome.error)
    counters = stats(emulator)
    assert counters["open_upload_sessions"] == 0  # the hanging session was cancelled
    assert counters["created"]["upload_sessions"] == 1  # the waiting batch was never sent
    assert counters["assets_stored"] == 0
    statuses = sorted(
        {o.response.status_code if o.response else type(o.error).__name__ for o in outcomes},
        key=str,
    )
    print(f"\nSIGTERM with transfers stuck: exited in {shutdown:.2f} s; requests got {statuses}")
