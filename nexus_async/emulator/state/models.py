"""Plain dataclasses holding the emulator's state (no HTTP types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_async.emulator.blobs import Extent
from nexus_async.emulator.images import image_size

JsonDict = dict[str, Any]
MetadataValue = str | int | float | bool


@dataclass
class Workspace:
    """A workspace and the secret key that opens it."""

    id: str
    name: str
    owner: str
    tier: str
    create_date: int
    secret_key: str


@dataclass
class Project:
    """A project and everything stored in it."""

    id: str
    workspace_id: str
    name: str
    type: str
    create_date: int
    localization: str = "MULTI"
    tags: dict[str, str] = field(default_factory=dict)  # tag name -> ontology id
    groups: list[str] = field(default_factory=list)
    custom_statuses: list[str] = field(default_factory=list)
    assets: dict[str, Asset] = field(default_factory=dict)
    asset_by_filename: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, Annotation] = field(default_factory=dict)
    workflows: dict[str, Workflow] = field(default_factory=dict)
    session_creations: list[int] = field(default_factory=list)


@dataclass
class CustomMetadataRecord:
    """One custom-metadata record of an asset (asset-level when ``frame`` is None)."""

    id: str
    frame: int | None
    values: dict[str, MetadataValue]


@dataclass
class Asset:
    """A stored asset; ``visible_at`` is when ingestion finishes.

    ``dimensions`` (width, height) are read from the blobs when first needed, not when the
    bytes arrive (None until then): storing an asset stays off the storage hot path.
    """

    id: str
    seq: int
    project_id: str
    filename: str
    status: str
    create_date: int
    mime: str
    size: int
    groups: list[str]
    visible_at: int
    blobs: list[Extent] = field(default_factory=list)
    custom_metadata: list[CustomMetadataRecord] = field(default_factory=list)
    annotation_ids: dict[str, None] = field(default_factory=dict)
    dimensions: tuple[int, int] | None = None

    def _dimensions(self) -> tuple[int, int]:
        if self.dimensions is None:
            self.dimensions = image_size(self.blobs) if self.blobs else (0, 0)
        return self.dimensions

    @property
    def width(self) -> int:
        """Width in pixels (0 when unknown)."""
        return self._dimensions()[0]

    @property
    def height(self) -> int:
        """Height in pixels (0 when unknown)."""
        return self._dimensions()[1]

    def merged_metadata(self) -> dict[str, MetadataValue]:
        """Merge of the asset-level records, later writes winning."""
        merged: dict[str, MetadataValue] = {}
        for record in self.custom_metadata:
            if record.frame is None:
                merged.update(record.values)
        return merged


@dataclass
class Annotation:
    """An annotation of an asset."""

    id: str
    seq: int
    project_id: str
    asset_id: str
    tag: str
    bound_type: str
    bound: list[Any]
    create_date: int
    frame: int | None = None
    aggregation: JsonDict | None = None
    attributes: list[JsonDict] | None = None


@dataclass
class Workflow:
    """A (seeded) workflow."""

    id: str
    project_id: str
    title: str
    create_date: int
    update_date: int


@dataclass
class UploadItem:
    """One file announced in an upload session."""

    index: int
    filename: str
    size: int
    crc32c: int
    mime: str
    frames: int | None
    custom_metadata: dict[str, MetadataValue]
    received_at: int | None = None
    asset_id: str | None = None
    multipart_id: str | None = None


@dataclass
class UploadSession:
    """An asset upload session and its items.

    ``arrivals`` holds, sorted, when each received item arrived (one entry per received item):
    reads count item states from it by bisection instead of walking the items.
    """

    id: str
    project_id: str
    op_id: str
    groups: list[str]
    items: list[UploadItem]
    created_at: int
    expires_at: int
    cancelled_at: int | None = None
    arrivals: list[int] = field(default_factory=list)

    @property
    def received(self) -> int:
        """How many items arrived."""
        return len(self.arrivals)


@dataclass
class MultipartPart:
    """One uploaded part of a multipart upload."""

    size: int
    etag: str
    path: Path
    completed: bool = False


@dataclass
class MultipartUpload:
    """A multipart upload of one session item."""

    id: str
    project_id: str
    session_id: str
    item_index: int
    size: int
    mime: str
    part_count: int
    parts: dict[int, MultipartPart] = field(default_factory=dict)
    state: str = "Created"  # Created | Completed | Aborted


@dataclass
class Export:
    """An annotation export (its operation shares the id)."""

    id: str
    project_id: str
    format: str
    created_at: int
    blob: Path | None
    errored: bool = False


@dataclass
class Operation:
    """An operation; its progress is derived from its source (upload session or export)."""

    id: str
    project_id: str
    kind: str
    unit: str
    created_at: int
    source_id: str


@dataclass
class ImportFile:
    """A file announced in an annotation import session."""

    filename: str
    size: int
    crc32c: str
    blob: Path | None = None


@dataclass
class ImportLog:
    """One import-session log line."""

    timestamp: int
    level: str
    message: str


@dataclass
class ImportSession:
    """An annotation import session."""

    id: str
    project_id: str
    created_at: int
    expires_at: int
    update_date: int
    files: dict[str, ImportFile] = field(default_factory=dict)
    inserted_at: int | None = None
    failed_at: int | None = None
    processed_files: int = 0
    failed_files: int = 0
    processed_annotations: int = 0
    committed_annotations: int = 0
    logs: list[ImportLog] = field(default_factory=list)


@dataclass
class Dataset:
    """A batch dataset (NDJSON file)."""

    id: str
    seq: int
    project_id: str
    name: str
    size_bytes: int
    crc32c: str
    created_at: int
    expiry_time: int
    url_expires_at: int
    upload_path: str
    upload_headers: dict[str, str]
    uploaded_at: int | None = None
    item_count: int = 0
    failure: str | None = None  # FailedUpload | FailedProcessing
    failure_message: str = ""
    update_date: int = 0
