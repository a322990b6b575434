"""``EmulatorServer``: the emulator on a real uvicorn server on 127.0.0.1 (thread or subprocess)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Generator
from types import TracebackType
from typing import IO, Any, Literal

import httpx
import uvicorn
from starlette.applications import Starlette

from nexus_async.emulator.app import create_app
from nexus_async.emulator.clock import Clock
from nexus_async.emulator.config import EmulatorConfig
from nexus_async.emulator.core import Emulator
from nexus_async.emulator.faults import ConnectionDropped
from nexus_async.emulator.storage.workers import StorageWorkers

LOOPBACK = "127.0.0.1"


class _DroppedConnectionFilter(logging.Filter):
    """Hide uvicorn's error log for connections dropped on purpose by a fault rule."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record except those of a ``ConnectionDropped``."""
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def install_log_filter() -> None:
    """Install the dropped-connection filter on uvicorn's error logger (idempotent)."""
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DroppedConnectionFilter) for f in log.filters):
        log.addFilter(_DroppedConnectionFilter())


def bind_socket(host: str = LOOPBACK, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 = a free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY: without it, a response written in two parts
    # (headers, body) waits for the client's delayed ACK (~40 ms per request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Starlette) -> uvicorn.Config:
    """uvicorn settings: no websockets, no lifespan, warnings only, no access log, and at most
    5 s of graceful shutdown for connections still busy."""
    return uvicorn.Config(
        app,
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def start_storage_workers(emulator: Emulator, host: str = LOOPBACK) -> None:
    """Start ``emulator.config.storage_workers`` storage workers on a free port of ``host``."""
    count = emulator.config.storage_workers
    if count <= 0 or emulator.storage_workers is not None:
        return
    sock = bind_socket(host, 0)
    try:
        emulator.storage_workers = StorageWorkers(emulator, sock, count)
    finally:
        sock.close()  # the workers hold their own copies


async def sync_storage_forever(emulator: Emulator, period: float = 0.1) -> None:
    """Apply storage workers' reports every ``period`` seconds, so that a session whose last
    item arrived is closed to replays even if nobody reads it."""
    if emulator.storage_workers is None:
        return
    while True:
        await asyncio.sleep(period)
        emulator.sync_storage()


class SignalSafeServer(uvicorn.Server):
    """A uvicorn server that stops on SIGINT/SIGTERM without re-raising the signal.

    ``ready`` is set once the server listens.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening, then set ``ready``."""
        await super().startup(sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Set ``should_exit`` on SIGINT/SIGTERM (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


class EmulatorControl:
    """The control plane over HTTP (works for thread and subprocess servers alike)."""

    def __init__(self, base_url: str) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=30.0)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._client.request(method, "/_emulator/" + path, json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> dict[str, Any]:
        """Forget everything and re-create the default project; returns its ids."""
        result: dict[str, Any] = self._call("POST", "reset")
        return result

    def seed(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Create resources from a seed document; returns the created ids."""
        result: dict[str, Any] = self._call("POST", "seed", spec)
        return result

    def add_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        """Add a fault rule; returns it with its id."""
        result: dict[str, Any] = self._call("POST", "faults", rule)
        return result

    def set_timing(self, queue_ms: int, processing_ms: int) -> dict[str, int]:
        """Change the lifecycle delays of the running emulator."""
        result: dict[str, int] = self._call(
            "POST", "timing", {"queue_ms": queue_ms, "processing_ms": processing_ms}
        )
        return result

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", "faults")

    def stats(self) -> dict[str, Any]:
        """The emulator's counters."""
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


class AsyncEmulatorControl:
    """The control plane for async code: the calls of :class:`EmulatorControl`, awaited. Each
    runs in a worker thread, so the event loop never waits on the emulator. Example::

        await server.async_control.add_fault({"route": "storage", "status": 503})
    """

    def __init__(self, control: EmulatorControl) -> None:
        self._control = control

    async def reset(self) -> dict[str, Any]:
        """Forget everything and re-create the default project; returns its ids."""
        return await asyncio.to_thread(self._control.reset)

    async def seed(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Create resources from a seed document; returns the created ids."""
        return await asyncio.to_thread(self._control.seed, spec)

    async def add_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        """Add a fault rule; returns it with its id."""
        return await asyncio.to_thread(self._control.add_fault, rule)

    async def set_timing(self, queue_ms: int, processing_ms: int) -> dict[str, int]:
        """Change the lifecycle delays of the running emulator."""
        return await asyncio.to_thread(self._control.set_timing, queue_ms, processing_ms)

    async def clear_faults(self) -> None:
        """Remove every fault rule."""
        await asyncio.to_thread(self._control.clear_faults)

    async def stats(self) -> dict[str, Any]:
        """The emulator's counters."""
        return await asyncio.to_thread(self._control.stats)


class EmulatorServer:
    """Run the emulator on ``127.0.0.1`` with a free port; use as a (async) context manager.

    ``mode="thread"`` (default) runs uvicorn in a background thread of this process (the
    in-process ``Emulator`` is then also available as ``.emulator``); ``mode="subprocess"``
    runs ``python -m nexus_async.emulator`` with ``cli_args``.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        mode: Literal["thread", "subprocess"] = "thread",
        clock: Clock | None = None,
        cli_args: list[str] | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.config = config or EmulatorConfig()
        self.mode = mode
        self._clock = clock
        self._cli_args = list(cli_args or [])
        self._startup_timeout = startup_timeout
        self.emulator: Emulator | None = None
        self.base_url = ""
        self.secret_key: str | None = None
        self.workspace_id: str | None = None
        self.project_id: str | None = None
        self._control: EmulatorControl | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._process: subprocess.Popen[str] | None = None

    @property
    def control(self) -> EmulatorControl:
        """The HTTP control plane of the running server."""
        if self._control is None:
            raise RuntimeError("the emulator server is not running")
        return self._control

    @property
    def async_control(self) -> AsyncEmulatorControl:
        """The control plane for async code (see :class:`AsyncEmulatorControl`)."""
        return AsyncEmulatorControl(self.control)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        """Start the server and wait until it accepts requests."""
        if self.mode == "subprocess":
            self._start_subprocess()
        else:
            self._start_thread()
        self._control = EmulatorControl(self.base_url)
        return self

    def _start_thread(self) -> None:
        install_log_filter()
        self.emulator = Emulator(self.config, self._clock)
        start_storage_workers(self.emulator)
        self._socket = bind_socket()
        port = self._socket.getsockname()[1]
        server = uvicorn.Server(uvicorn_config(create_app(emulator=self.emulator)))
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [self._socket]},
            daemon=True,
            name="nexus-emulator",
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.005)
        self.base_url = f"http://{LOOPBACK}:{port}"
        ids = self.emulator.default_ids()
        self.secret_key, self.workspace_id, self.project_id = (
            ids["secret_key"],
            ids["workspace_id"],
            ids["project_id"],
        )

    def _start_subprocess(self) -> None:
        command = [sys.executable, "-m", "nexus_async.emulator", "--port", "0", *self._cli_args]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        self._process = process
        line = _read_line(process.stdout, self._startup_timeout)
        if not line:
            self.stop()
            raise RuntimeError("the emulator subprocess did not start")
        info = json.loads(line)
        self.base_url = info["base_url"]
        self.secret_key = info["secret_key"]
        self.workspace_id = info["workspace_id"]
        self.project_id = info["project_id"]

    def stop(self) -> None:
        """Stop the server, wait for it and remove its temporary data."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self.emulator is not None:
            self.emulator.close()
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EmulatorServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


def _read_line(stream: IO[str] | None, timeout: float) -> str:
    """The first line of ``stream`` within ``timeout`` seconds ("" on EOF or timeout)."""
    if stream is None:
        return ""
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True)
    reader.start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""
