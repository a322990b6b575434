"""``StorageWorkers``: the API process's side of ``--storage-workers N``.

It binds one listening socket that N worker processes share (the kernel spreads connections),
publishes the fault rules and closed-session markers they read, and applies what they journal
(arrivals with where their bytes are in the workers' packs, counters, fault triggers) to the
API state when ``sync`` is called: before every API or control request, and from
``Emulator.stats()``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from nexus_async.emulator.faults import FaultRule
from nexus_async.emulator.storage.journal import JournalReader
from nexus_async.emulator.storage.packs import pack_extent
from nexus_async.emulator.storage.worker_backend import (
    CLOSED,
    FAULTS,
    RESET,
    Versions,
    closed_marker,
    control_dir,
)

if TYPE_CHECKING:
    import socket

    from nexus_async.emulator.core import Emulator


class StorageWorkers:
    """N storage worker processes serving item uploads on ``origin``."""

    def __init__(self, emulator: Emulator, sock: socket.socket, count: int) -> None:
        self.emulator = emulator
        host, port = sock.getsockname()[:2]
        self.origin = f"http://{host}:{port}"
        root = emulator.blobs.root
        self._root = os.fspath(root)
        self._control = control_dir(root)
        (self._control / "closed").mkdir(parents=True, exist_ok=True)
        (self._control / "claims").mkdir(parents=True, exist_ok=True)
        self._journal = JournalReader(self._control / "journal")
        self._versions = Versions(root, writable=True)
        self._publish(emulator.faults.rules)
        emulator.faults.change_listeners.append(self._publish)
        emulator.state.session_closed_listeners.append(self._mark_closed)
        settings = {
            "fd": sock.fileno(),
            "root": str(root),
            "secret": emulator.config.signing_secret.hex(),
        }
        self._processes = [self._spawn(sock, settings) for _ in range(count)]

    @staticmethod
    def _spawn(sock: socket.socket, settings: dict[str, Any]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "nexus_async.emulator.storage.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            pass_fds=[sock.fileno()],
        )
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(json.dumps(settings) + "\n")
        process.stdin.close()
        if process.stdout.readline().strip() != "ready":
            process.kill()
            raise RuntimeError("a storage worker did not start")
        return process

    @property
    def pids(self) -> list[int]:
        """Process ids of the workers."""
        return [p.pid for p in self._processes]

    # -- API -> workers --------------------------------------------------------------

    def _publish(self, rules: list[FaultRule]) -> None:
        """Write the fault rules atomically (workers reload on a new mtime)."""
        shutil.rmtree(self._control / "claims", ignore_errors=True)
        (self._control / "claims").mkdir(exist_ok=True)
        temp = self._control / "faults.json.part"
        temp.write_text(json.dumps([{"id": r.id, "spec": r.spec} for r in rules]))
        os.replace(temp, self._control / "faults.json")
        self._versions.bump(FAULTS)

    def _mark_closed(self, session_id: str) -> None:
        closed_marker(self.emulator.blobs.root, session_id).touch()
        self._versions.bump(CLOSED)  # after the marker: a worker that sees the bump sees it

    def reset(self) -> None:
        """After an emulator reset: forget markers and journal (the blobs and packs are gone;
        workers start new packs when they see the ``RESET`` bump)."""
        shutil.rmtree(self._control / "closed", ignore_errors=True)
        (self._control / "closed").mkdir(exist_ok=True)
        self._versions.bump(CLOSED)
        self._journal.restart()
        self._versions.bump(RESET)
        self._publish(self.emulator.faults.rules)

    # -- workers -> API --------------------------------------------------------------

    def sync(self) -> None:
        """Apply what the workers journaled since the last call."""
        emulator = self.emulator
        counters = emulator.counters
        for record in self._journal.read():
            kind = record[0]
            if kind == "a":
                blob = pack_extent(self._root, record[4], record[5], record[6])
                if blob is not None:
                    emulator.state.receive_ingest(record[1], record[2], record[3], blob)
            elif kind == "r":
                counters.count_storage_request(record[1])
            elif kind == "b":
                counters.count_storage_bytes(record[1])
            elif kind == "c":
                counters.count_checksum_failure()
            elif kind == "s":
                counters.count_size_mismatch()
            elif kind == "f":
                counters.faults_triggered += 1
                for rule in emulator.faults.rules:
                    if rule.id == record[1]:
                        rule.triggered += 1

    def close(self) -> None:
        """Stop the workers and wait for them."""
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        self._journal.close()
        self._versions.close()
