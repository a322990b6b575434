"""Signed-URL storage targets: which object a storage request writes, and what it then means."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nexus_async.emulator.blobs import Extent
from nexus_async.emulator.errors import StorageError
from nexus_async.emulator.state.seeding import SeedMixin


@dataclass(frozen=True)
class StorageSlot:
    """The object a storage PUT writes.

    ``kind`` is ``ingest``, ``multipart``, ``imports`` or ``datasets``; ``blob`` where the
    object is stored (an ingested item always at the same place); ``expected_size`` the
    declared size (None when unknown, e.g. multipart parts); ``written`` whether the object
    exists already and ``write_once`` whether it may only be written once (then a second write
    is a 412 even without ``x-goog-if-generation-match``).
    """

    kind: str
    segments: tuple[str, ...]
    blob: Path
    expected_size: int | None
    written: bool
    write_once: bool = False


class StorageMixin(SeedMixin):
    """Maps storage paths to upload slots and applies verified uploads."""

    def storage_slot(self, segments: list[str]) -> StorageSlot:
        """Resolve ``/_storage/<segments>``; 403 when closed, 404 when unknown."""
        key = tuple(segments)
        if segments[0] == "ingest" and len(segments) == 3:
            _, item = self.ingest_slot(segments[1], segments[2])
            blob = self.blobs.ingest_path(segments[1], item.index)
            return StorageSlot("ingest", key, blob, item.size, item.received_at is not None)
        if segments[0] == "multipart" and len(segments) == 3:
            upload, number = self.multipart_slot(segments[1], segments[2])
            return StorageSlot(
                "multipart", key, self.blobs.new_path("parts"), None, number in upload.parts
            )
        if segments[0] == "imports" and len(segments) == 3:
            _, file = self.import_slot(segments[1], segments[2])
            return StorageSlot(
                "imports", key, self.blobs.new_path("imports"), file.size, file.blob is not None
            )
        if segments[0] == "datasets" and len(segments) == 2:
            dataset = self.dataset_slot(segments[1])
            written = dataset.uploaded_at is not None
            return StorageSlot(
                "datasets", key, self.blobs.new_path("datasets"), dataset.size_bytes, written, True
            )
        raise StorageError(404, "NoSuchKey")

    def storage_commit(self, slot: StorageSlot, path: Path, size: int, crc: int) -> dict[str, str]:
        """Apply a verified upload; returns the storage response headers (ETag for parts)."""
        segments = slot.segments
        if slot.kind == "ingest":
            session, item = self.ingest_slot(segments[1], segments[2])
            self.receive_item(session, item, [Extent.whole(path, size)])
        elif slot.kind == "multipart":
            upload, number = self.multipart_slot(segments[1], segments[2])
            return {"ETag": self.store_part(upload, number, path, size, crc)}
        elif slot.kind == "imports":
            session_, file = self.import_slot(segments[1], segments[2])
            self.receive_import_file(session_, file, path)
        else:
            self.receive_dataset(self.dataset_slot(segments[1]), path)
        return {}

    def storage_failed(self, slot: StorageSlot, reason: str) -> None:
        """A rejected upload (bad checksum or size): a dataset fails its upload."""
        if slot.kind == "datasets":
            self.dataset_upload_failed(self.dataset_slot(slot.segments[1]), reason)
