"""The storage backend of a storage worker: everything it needs is in the signed URL (size,
when the session closes) and in the shared data directory (closed-session markers, the
journal); bodies go into the worker's own pack files (``storage/packs.py``).

Workers only serve item uploads (``/_storage/ingest/<session>/<index>``); every other signed
URL keeps pointing at the API process.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from nexus_async.emulator.clock import Clock
from nexus_async.emulator.errors import StorageError
from nexus_async.emulator.storage.journal import ArrivalIndex, JournalWriter
from nexus_async.emulator.storage.packs import PackBlob, PackStore
from nexus_async.emulator.storage.plane import BlobSink, Download, Slot

CONTROL_DIR = "_control"


def control_dir(root: Path) -> Path:
    """Files the API process and its storage workers share (journal, markers, fault rules)."""
    return root / CONTROL_DIR


def closed_marker(root: Path, session_id: str) -> Path:
    """Exists once the API knows an upload session takes no more files."""
    return control_dir(root) / "closed" / session_id


FAULTS = 0
"""Slot of ``Versions`` bumped whenever the API publishes new fault rules."""
CLOSED = 1
"""Slot of ``Versions`` bumped whenever an upload session closes (or the emulator resets)."""
RESET = 2
"""Slot of ``Versions`` bumped after an emulator reset deleted the packs and the journal."""
_SLOTS = struct.Struct("=QQQ")


class Versions:
    """Counters in a small shared file mapped into memory by the API process (which bumps
    them) and by every storage worker (which reads them without a system call): a worker only
    re-reads ``faults.json``, stats a closed-session marker or starts a new pack when a counter
    moved."""

    def __init__(self, root: Path, *, writable: bool = False) -> None:
        path = control_dir(root) / "versions"
        if writable and (not path.exists() or path.stat().st_size != _SLOTS.size):
            path.write_bytes(bytes(_SLOTS.size))
        fd = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
        try:
            access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
            self._map = mmap.mmap(fd, _SLOTS.size, access=access)
        finally:
            os.close(fd)

    def get(self, slot: int) -> int:
        """The current value of a counter."""
        return int(_SLOTS.unpack_from(self._map)[slot])

    def bump(self, slot: int) -> None:
        """Advance a counter (API process only)."""
        values = list(_SLOTS.unpack_from(self._map))
        values[slot] += 1
        _SLOTS.pack_into(self._map, 0, *values)

    def close(self) -> None:
        """Unmap."""
        self._map.close()


class ItemRef(NamedTuple):
    """The item a worker's slot stands for."""

    session_id: str
    item: int
    closes: int


class WorkerBackend:
    """Resolves item uploads statelessly, writes them into packs and journals them."""

    def __init__(
        self,
        root: Path,
        clock: Clock,
        journal: JournalWriter,
        versions: Versions | None = None,
    ) -> None:
        self.clock = clock
        self.journal = journal
        self.packs = PackStore(os.fspath(root))
        self._index = ArrivalIndex(control_dir(root) / "journal")
        self._versions = versions
        self._reset_version = versions.get(RESET) if versions is not None else 0
        self._closed_dir = os.fspath(control_dir(root) / "closed")
        self._open: set[str] = set()
        """Sessions seen open at ``_open_version`` of the closed counter (sessions never reopen,
        so the set stays true until the counter moves)."""
        self._open_version = -1

    @property
    def counters(self) -> JournalWriter:
        """Counts go to the journal."""
        return self.journal

    def now(self) -> int:
        """The wall clock."""
        return self.clock.now_ms()

    def slot(self, segments: list[str], query: Mapping[str, str]) -> Slot:
        """An item of an open session (403 closed, 404 anything else); whether the blob exists
        is left to the plane (it only matters for exclusive writes)."""
        if len(segments) != 3 or segments[0] != "ingest" or not segments[2].isdigit():
            raise StorageError(404, "NoSuchKey")
        session_id, index = segments[1], int(segments[2])
        try:
            size = int(query["x-nexus-size"])
            closes = int(query["x-nexus-closes"])
        except (KeyError, ValueError):
            raise StorageError(404, "NoSuchKey") from None
        self._check_open(session_id, closes)
        return Slot(size, False, ItemRef(session_id, index, closes))

    def exists(self, slot: Slot) -> bool:
        """Whether any worker journaled the item."""
        assert isinstance(slot.context, ItemRef)
        return self._index.arrived(slot.context.session_id, slot.context.item)

    def open(self, slot: Slot) -> PackBlob:
        """Room for the declared size in the current pack."""
        if self._versions is not None and self._versions.get(RESET) != self._reset_version:
            self._reset_version = self._versions.get(RESET)
            self.packs.restart()
            self._index.restart()
        assert slot.expected_size is not None
        return self.packs.reserve(slot.expected_size)

    def _check_open(self, session_id: str, closes: int) -> None:
        if self.now() >= closes or self._closed(session_id):
            raise StorageError(403, "AccessDenied", "The upload session is closed")

    def _closed(self, session_id: str) -> bool:
        if self._versions is None:
            return os.path.exists(f"{self._closed_dir}/{session_id}")
        version = self._versions.get(CLOSED)
        if version != self._open_version:
            self._open.clear()
            self._open_version = version
        elif session_id in self._open:
            return False
        if os.path.exists(f"{self._closed_dir}/{session_id}"):
            return True
        self._open.add(session_id)
        return False

    def commit(
        self, slot: Slot, blob: BlobSink, size: int, crc: int, exclusive: bool
    ) -> dict[str, str]:
        """Journal the arrival: the item exists from then on (flushed with the request's other
        records, before the answer; at once, under the journal lock, for an exclusive write)."""
        assert isinstance(slot.context, ItemRef)
        assert isinstance(blob, PackBlob)
        session_id, index, closes = slot.context
        self._check_open(session_id, closes)
        if not exclusive:
            self.journal.arrival(session_id, index, self.now(), blob.name, blob.offset, size)
            return {}
        with self.journal.locked():
            if self._index.arrived(session_id, index):
                raise FileExistsError(f"{session_id}/{index}")
            self.journal.arrival(session_id, index, self.now(), blob.name, blob.offset, size)
            self.journal.flush()
        return {}

    def close(self) -> None:
        """Close the packs and the journal index."""
        self.packs.close()
        self._index.close()

    def failed(self, slot: Slot, reason: str) -> None:
        """Nothing to record for an item (the client retries it)."""

    def download(self, segments: list[str]) -> Download:
        """Workers serve no downloads."""
        raise StorageError(404, "NoSuchKey")
