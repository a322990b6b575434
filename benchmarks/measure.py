"""Run one client process and measure it from outside (wall time, and CPU via wait4).

Peak RSS comes from the client itself (``VmHWM``): ``ru_maxrss`` from wait4 would include
the orchestrator's own peak, which Linux carries over the child's ``execve``.

With at least 2 usable cores, processes are pinned (:class:`Pinning`): the emulator (with its
storage workers) and this orchestrator share the first core, each client gets the second, so a
client never competes with the server it measures. A process inherits the affinity of the
thread that starts it, which is how both are pinned (:func:`started_on`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLIENTS_DIR = Path(__file__).parent / "clients"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Pinning:
    """Which cores the emulator side and the clients run on (``None``: not pinned)."""

    emulator: frozenset[int] | None = None
    client: frozenset[int] | None = None

    @classmethod
    def for_this_machine(cls, enabled: bool = True) -> Pinning:
        """The first usable core for the emulator, the second for clients; off below 2."""
        usable = sorted(os.sched_getaffinity(0))
        if not enabled or len(usable) < 2:
            return cls()
        return cls(frozenset(usable[:1]), frozenset(usable[1:2]))

    def describe(self) -> str:
        """One line for the report."""
        if self.emulator is None or self.client is None:
            return f"off ({len(os.sched_getaffinity(0))} usable cores)"
        return (
            f"on: emulator, its storage workers and the orchestrator on core "
            f"{min(self.emulator)}; each client on core {min(self.client)}"
        )


@contextlib.contextmanager
def started_on(cores: frozenset[int] | None) -> Iterator[None]:
    """Processes started inside this block run on ``cores`` (all their threads and children).

    Only the calling thread's affinity changes, and it is restored on exit.
    """
    if cores is None:
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and all its descendants still running."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited meanwhile
    return total


@dataclass(frozen=True)
class ClientProcess:
    """One of the three compared clients: its name, interpreter and script."""

    name: str
    python: str
    script: str

    def command(self, spec: dict[str, Any]) -> list[str]:
        """The command line that runs this client on ``spec``."""
        return [self.python, str(CLIENTS_DIR / self.script), json.dumps(spec)]


@dataclass(frozen=True)
class ProcessResult:
    """What the client printed, plus the kernel's view of the whole process's time."""

    report: dict[str, Any]
    process_wall_s: float
    process_cpu_s: float


class ClientFailedError(RuntimeError):
    """The client process exited non-zero, timed out or printed no result."""


def run_client(
    client: ClientProcess,
    spec: dict[str, Any],
    timeout: float,
    cores: frozenset[int] | None = None,
) -> ProcessResult:
    """Start the client (on ``cores``), wait for it (killing it after ``timeout`` s), and
    parse its result."""
    env = dict(os.environ)
    env.pop("DATATURE_API_BASE_URL", None)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        with started_on(cores):
            process = subprocess.Popen(client.command(spec), stdout=out, stderr=err, env=env)
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
        if process.returncode != 0 or not lines:
            tail = " | ".join(err.read().strip().splitlines()[-6:])
            raise ClientFailedError(f"{client.name} exited {process.returncode}: {tail}")
    return ProcessResult(
        report=json.loads(lines[-1]),
        process_wall_s=wall,
        process_cpu_s=usage.ru_utime + usage.ru_stime,
    )
