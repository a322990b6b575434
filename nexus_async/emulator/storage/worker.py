"""A storage worker process: ``python -m nexus_async.emulator.storage.worker`` serves item
uploads on a listening socket it inherits, reading its settings as JSON on stdin
(``{"fd", "root", "secret"}``, the secret in hex) and printing ``ready`` once it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from nexus_async.emulator.blobs import UrlSigner
from nexus_async.emulator.clock import SystemClock
from nexus_async.emulator.faults import FaultRule, FaultSet
from nexus_async.emulator.storage.http import StorageProtocol
from nexus_async.emulator.storage.journal import JournalWriter
from nexus_async.emulator.storage.plane import StoragePlane
from nexus_async.emulator.storage.worker_backend import FAULTS, Versions, WorkerBackend, control_dir


class SharedFaults:
    """The API's fault rules as published in ``faults.json``, reloaded when it changes (the
    shared ``Versions`` counter says when, without a system call); a rule's ``times`` is shared
    by all workers through one claim file per trigger."""

    def __init__(
        self, root: Path, journal: JournalWriter, versions: Versions | None = None
    ) -> None:
        self.faults = FaultSet()
        self._file = control_dir(root) / "faults.json"
        self._claims = control_dir(root) / "claims"
        self._journal = journal
        self._versions = versions
        self._published = -1
        self._version: int | None = None

    def refresh(self) -> None:
        """Reload the rules if the API published new ones."""
        if self._versions is not None:
            published = self._versions.get(FAULTS)
            if published == self._published:
                return
            self._published = published
            self._version = None  # the counter moved: read the file whatever its mtime
        try:
            version = self._file.stat().st_mtime_ns
        except FileNotFoundError:
            version = 0
        if version == self._version:
            return
        self._version = version
        specs: list[dict[str, Any]] = json.loads(self._file.read_text()) if version else []
        self.faults.replace([FaultRule.from_json(s["id"], s["spec"]) for s in specs])

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The rule that triggers for this request, if any."""
        self.refresh()
        if not self.faults.rules:
            return None
        return self.faults.pick(method, path, lambda: None, self.claim)

    def claim(self, rule: FaultRule) -> bool:
        """Take one of the rule's ``times`` triggers (True when unlimited); journal it."""
        if rule.times is not None:
            for number in range(rule.times):
                try:
                    os.close(os.open(self._claims / f"{rule.id}-{number}", os.O_CREAT | os.O_EXCL))
                    break
                except FileExistsError:
                    continue
            else:
                return False
        self._journal.add("f", rule.id)
        return True


PARENT_CHECK_S = 1.0
"""How often a worker checks that the API process that started it is still alive."""


def _stop_when_orphaned(loop: asyncio.AbstractEventLoop, parent: int, stop: asyncio.Event) -> None:
    """Set ``stop`` once the worker's parent is gone (reparented): an API process killed
    without closing its workers (SIGKILL, or stopped while still starting) leaves none behind."""
    if os.getppid() != parent:
        stop.set()
        return
    loop.call_later(PARENT_CHECK_S, _stop_when_orphaned, loop, parent, stop)


async def serve(settings: dict[str, Any]) -> None:
    """Serve on the inherited socket until SIGTERM/SIGINT."""
    root = Path(settings["root"])
    journal = JournalWriter(control_dir(root) / "journal")
    versions = Versions(root)
    faults = SharedFaults(root, journal, versions)
    backend = WorkerBackend(root, SystemClock(), journal, versions)
    plane = StoragePlane(UrlSigner(bytes.fromhex(settings["secret"])), backend)
    loop = asyncio.get_running_loop()
    sock = socket.socket(fileno=settings["fd"])
    server = await loop.create_server(
        lambda: StorageProtocol(plane, faults.pick, journal.flush), sock=sock
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    _stop_when_orphaned(loop, os.getppid(), stop)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await stop.wait()
    server.close()
    backend.close()
    journal.close()
    versions.close()


def main() -> int:
    """Entry point."""
    settings = json.loads(sys.stdin.readline())
    run: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop  # optional: a faster event loop

        run = uvloop.run
    run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
