"""Asset upload sessions and multipart uploads (nexus-api.md §6)."""

from __future__ import annotations

from nexus_async._models import NexusModel

__all__ = [
    "MultipartAbortResponse",
    "MultipartCompleteResponse",
    "MultipartPartStatus",
    "MultipartUploadSession",
    "MultipartUploadSignedUrl",
    "SignedUpload",
    "UploadSessionAsset",
    "UploadSessionAssetMetadata",
    "UploadSessionInfo",
]


class SignedUpload(NexusModel):
    """How to send one file to storage: exactly this method, URL and headers."""

    method: str
    url: str
    headers: dict[str, str]
    expiry_date: int | None = None


class UploadSessionAssetMetadata(NexusModel):
    """The server's echo of one file of the session."""

    filename: str
    mime: str
    size: int
    crc32c: int


class UploadSessionAsset(NexusModel):
    """One file of an upload session and its signed URL."""

    metadata: UploadSessionAssetMetadata
    upload: SignedUpload


class UploadSessionInfo(NexusModel):
    """A created upload session as the server answers it: its id, the operation tracking
    ingestion, and one signed URL per file, in request order. (The session you add files to is
    :class:`nexus_async.UploadSession`.)"""

    id: str
    op_id: str
    assets: list[UploadSessionAsset]


class MultipartUploadSession(NexusModel):
    """A multipart upload of one large file; the server decides the part count."""

    id: str
    part_count: int


class MultipartUploadSignedUrl(NexusModel):
    """Where to send one part, and which storage response headers to report back."""

    method: str
    url: str
    expiry: int
    response_headers: list[str]
    response_body: bool
    headers: dict[str, str] | None = None


class MultipartPartStatus(NexusModel):
    """Whether the server accepted a part."""

    id: str
    part_number: int
    completed: bool


class MultipartCompleteResponse(NexusModel):
    """The answer to completing a multipart upload."""

    id: str
    completed: bool


class MultipartAbortResponse(NexusModel):
    """The answer to aborting a multipart upload."""

    id: str
    aborted: bool


UploadSession = UploadSessionInfo
"""The old name of :class:`UploadSessionInfo`, kept for imports from this module; the package
name ``UploadSession`` means the session you add files to (:class:`nexus_async.UploadSession`)."""
