"""The storage backend of a storage worker: everything it needs is in the signed URL (size,
when the session closes) and in the shared data directory (blobs, closed-session markers).

Workers only serve item uploads (``/_storage/ingest/<session>/<index>``); every other signed
URL keeps pointing at the API process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from nexus_async.emulator.blobs import BlobStore, BlobWriter
from nexus_async.emulator.clock import Clock
from nexus_async.emulator.errors import StorageError
from nexus_async.emulator.storage.journal import JournalWriter
from nexus_async.emulator.storage.plane import Download, Slot

CONTROL_DIR = "_control"


def control_dir(root: Path) -> Path:
    """Files the API process and its storage workers share (journal, markers, fault rules)."""
    return root / CONTROL_DIR


def closed_marker(root: Path, session_id: str) -> Path:
    """Exists once the API knows an upload session takes no more files."""
    return control_dir(root) / "closed" / session_id


class ItemRef(NamedTuple):
    """The item a worker's slot stands for."""

    session_id: str
    item: int
    closes: int


class WorkerBackend:
    """Resolves item uploads statelessly and reports them through the journal."""

    def __init__(self, blobs: BlobStore, clock: Clock, journal: JournalWriter) -> None:
        self.blobs = blobs
        self.clock = clock
        self.journal = journal

    @property
    def counters(self) -> JournalWriter:
        """Counts go to the journal."""
        return self.journal

    def now(self) -> int:
        """The wall clock."""
        return self.clock.now_ms()

    def slot(self, segments: list[str], query: Mapping[str, str]) -> Slot:
        """An item of an open session (403 closed, 404 anything else)."""
        if len(segments) != 3 or segments[0] != "ingest" or not segments[2].isdigit():
            raise StorageError(404, "NoSuchKey")
        session_id, index = segments[1], int(segments[2])
        try:
            size = int(query["x-nexus-size"])
            closes = int(query["x-nexus-closes"])
        except (KeyError, ValueError):
            raise StorageError(404, "NoSuchKey") from None
        self._check_open(session_id, closes)
        blob = self.blobs.ingest_path(session_id, index)
        return Slot(blob, size, os.path.exists(blob), False, ItemRef(session_id, index, closes))

    def _check_open(self, session_id: str, closes: int) -> None:
        if self.now() >= closes or os.path.exists(closed_marker(self.blobs.root, session_id)):
            raise StorageError(403, "AccessDenied", "The upload session is closed")

    def commit(
        self, slot: Slot, blob: BlobWriter, size: int, crc: int, exclusive: bool
    ) -> dict[str, str]:
        """Move the blob into place and journal the arrival."""
        assert isinstance(slot.context, ItemRef)
        session_id, index, closes = slot.context
        self._check_open(session_id, closes)
        blob.commit(exclusive=exclusive)
        self.journal.add("a", session_id, index, self.now())
        return {}

    def failed(self, slot: Slot, reason: str) -> None:
        """Nothing to record for an item (the client retries it)."""

    def download(self, segments: list[str]) -> Download:
        """Workers serve no downloads."""
        raise StorageError(404, "NoSuchKey")
