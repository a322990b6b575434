"""Batch datasets (nexus-api.md §11)."""

from __future__ import annotations

from enum import Enum

from nexus_async._models import NexusModel

__all__ = ["Dataset", "DatasetSource", "DatasetStatus", "DatasetStatusOverview", "DatasetUploadUrl"]


class DatasetStatusOverview(str, Enum):
    """The states of a dataset (§15.5). ``Uploaded`` is success; ``Failed*`` are failures."""

    WAITING = "Waiting"
    PROCESSING = "Processing"
    PROCESSED = "Processed"
    UPLOADING = "Uploading"
    UPLOADED = "Uploaded"
    FAILED_PROCESSING = "FailedProcessing"
    FAILED_UPLOAD = "FailedUpload"


class DatasetUploadUrl(NexusModel):
    """Where the NDJSON file goes: method, signed URL, headers to send, expiry."""

    method: str
    url: str
    headers: dict[str, str]
    expires_at_time: int


class DatasetSource(NexusModel):
    """The dataset's source file."""

    kind: str
    upload_url: DatasetUploadUrl


class DatasetStatus(NexusModel):
    """Where a dataset is in its lifecycle."""

    overview: str
    message: str
    update_time: int
    source: DatasetSource
    item_count: int


class Dataset(NexusModel):
    """A batch dataset: an uploaded NDJSON list of items for batch inference."""

    id: str
    object: str
    name: str
    project_id: str
    expiry_time: int
    status: DatasetStatus
    create_date: int
    update_date: int
