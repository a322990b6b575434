"""The storage backend of the API process: storage paths resolved against its own state."""

from __future__ import annotations

from collections.abc import Mapping

from nexus_async.emulator.blobs import BlobWriter, Extent
from nexus_async.emulator.errors import StorageError
from nexus_async.emulator.state import EmulatorState, StorageSlot
from nexus_async.emulator.stats import Stats
from nexus_async.emulator.storage.plane import BlobSink, Download, Slot


class LocalBackend:
    """Resolves and commits storage requests in the process that holds the API state."""

    def __init__(self, state: EmulatorState, counters: Stats) -> None:
        self.state = state
        self.counters = counters

    def now(self) -> int:
        """The emulator's clock."""
        return self.state.now()

    def slot(self, segments: list[str], query: Mapping[str, str]) -> Slot:
        """The state's view of the object (403 when its session or upload is closed)."""
        resolved = self.state.storage_slot(segments)
        return Slot(resolved.expected_size, resolved.write_once, resolved)

    def exists(self, slot: Slot) -> bool:
        """Whether the state has the object already."""
        assert isinstance(slot.context, StorageSlot)
        return slot.context.written

    def open(self, slot: Slot) -> BlobWriter:
        """A temporary file next to the blob's final path."""
        assert isinstance(slot.context, StorageSlot)
        return BlobWriter(slot.context.blob)

    def commit(
        self, slot: Slot, blob: BlobSink, size: int, crc: int, exclusive: bool
    ) -> dict[str, str]:
        """Re-check the slot (the session may have closed meanwhile), move the blob into
        place, then apply the upload to the state."""
        assert isinstance(slot.context, StorageSlot)
        assert isinstance(blob, BlobWriter)
        fresh = self.state.storage_slot(list(slot.context.segments))
        if exclusive and fresh.written:
            raise FileExistsError(blob.final)
        blob.commit(exclusive=exclusive)
        return self.state.storage_commit(slot.context, slot.context.blob, size, crc)

    def failed(self, slot: Slot, reason: str) -> None:
        """A dataset whose NDJSON was refused fails its upload."""
        assert isinstance(slot.context, StorageSlot)
        self.state.storage_failed(slot.context, reason)

    def download(self, segments: list[str]) -> Download:
        """Asset bytes or an export archive."""
        if len(segments) == 2 and segments[0] == "assets":
            asset = self.state.asset_by_id(segments[1])
            if asset is not None and asset.blobs:
                return Download(list(asset.blobs), asset.mime)
        elif len(segments) == 2 and segments[0] == "exports":
            export = self.state.store.exports.get(segments[1].removesuffix(".zip"))
            if export is not None and export.blob is not None:
                return Download([Extent.whole(export.blob)], "application/zip")
        raise StorageError(404, "NoSuchKey")
