"""Run one client process and measure it from outside (wall time, and CPU via wait4).

Peak RSS comes from the client itself (``VmHWM``): ``ru_maxrss`` from wait4 would include
the orchestrator's own peak, which Linux carries over the child's ``execve``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLIENTS_DIR = Path(__file__).parent / "clients"


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


def run_client(client: ClientProcess, spec: dict[str, Any], timeout: float) -> ProcessResult:
    """Start the client, wait for it (killing it after ``timeout`` s), and parse its result."""
    env = dict(os.environ)
    env.pop("DATATURE_API_BASE_URL", None)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
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
