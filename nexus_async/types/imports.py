"""Annotation import sessions (nexus-api.md §10)."""

from __future__ import annotations

from pydantic import Field

from nexus_async._models import NexusModel
from nexus_async.types.uploads import SignedUpload

__all__ = [
    "ImportSessionAnnotations",
    "ImportSessionAnnotationsWithStatus",
    "ImportSessionFiles",
    "ImportSessionFilesWithStatus",
    "ImportSessionInfo",
    "ImportSessionLog",
    "ImportSessionLogItem",
    "ImportSessionStatus",
    "InsertImportSessionFile",
    "InsertImportSessionFiles",
]


class ImportSessionFilesWithStatus(NexusModel):
    """File counts by processing state (names as on the wire)."""

    Processing: int = Field(alias="Processing")
    Processed: int = Field(alias="Processed")
    FailedProcess: int = Field(alias="FailedProcess")


class ImportSessionFiles(NexusModel):
    """The files of an import session."""

    total_size_bytes: int
    page_count: int
    with_status: ImportSessionFilesWithStatus


class ImportSessionAnnotationsWithStatus(NexusModel):
    """Annotation counts by state (names as on the wire)."""

    Processed: int = Field(alias="Processed")
    Committed: int = Field(alias="Committed")


class ImportSessionAnnotations(NexusModel):
    """The annotations found by an import session."""

    with_status: ImportSessionAnnotationsWithStatus


class ImportSessionStatus(NexusModel):
    """Where an import session is: ``overview`` is Running, Finished or Errored."""

    overview: str
    message: str
    update_date: int
    files: ImportSessionFiles
    annotations: ImportSessionAnnotations


class ImportSessionInfo(NexusModel):
    """An annotation import session as the server reports it. (The session you add files to
    is :class:`nexus_async.ImportSession`.)"""

    id: str
    project_id: str
    status: ImportSessionStatus
    expiry_date: int
    create_date: int
    update_date: int


class InsertImportSessionFile(NexusModel):
    """One file added to an import session, and where to send its bytes."""

    filename: str
    upload: SignedUpload


class InsertImportSessionFiles(NexusModel):
    """The answer to adding files to an import session."""

    id: str
    project_id: str
    files: list[InsertImportSessionFile]


class ImportSessionLogItem(NexusModel):
    """One log line of an import session, e.g. an out-of-bounds point in a file."""

    timestamp: float
    level: str
    message: str


class ImportSessionLog(NexusModel):
    """The logs of an import session; empty when nothing went wrong."""

    id: str
    project_id: str
    logs: list[ImportSessionLogItem]


ImportSession = ImportSessionInfo
"""The old name of :class:`ImportSessionInfo`, kept for imports from this module; the package
name ``ImportSession`` means the session you add files to (:class:`nexus_async.ImportSession`)."""
