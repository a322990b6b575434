"""The storage plane, independent of any HTTP server: verify a signed-URL request statelessly,
stream its body into a blob the backend provides, and hand the result to the backend.

A backend decides what a storage path means and where bodies go (``LocalBackend``: the API
state of this process, one file per blob; ``WorkerBackend``: a storage worker that only knows
the signed URL, writing into its pack files).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

import google_crc32c

from nexus_async.emulator.blobs import STORAGE_PREFIX, Extent, UrlSigner, parse_b64_crc32c
from nexus_async.emulator.errors import StorageError


@dataclass(frozen=True)
class StorageRequest:
    """What the plane needs of a request: method, decoded path, query and lower-case headers."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]


def parse_storage_query(raw: str) -> dict[str, str]:
    """A signed URL's query (``k=v&...``; percent-decoded, ``+`` kept as is)."""
    query: dict[str, str] = {}
    for segment in raw.split("&"):
        key, sep, value = segment.partition("=")
        if sep:
            query[unquote(key) if "%" in key else key] = unquote(value) if "%" in value else value
    return query


@dataclass(frozen=True)
class Slot:
    """The object a verified PUT writes: its declared size (None when unknown) and whether it
    may only be written once; ``context`` is the backend's own (where it goes, what it is)."""

    expected_size: int | None
    write_once: bool
    context: object = None


@dataclass(frozen=True)
class Download:
    """The answer to a verified GET: the extents to concatenate and their MIME type."""

    extents: list[Extent]
    media_type: str


class BlobSink(Protocol):
    """Where a body is written while it streams in (a temporary file, a pack reservation)."""

    def write(self, chunk: bytes) -> None:
        """Append one chunk."""

    def discard(self) -> None:
        """The body is refused or cut short: nothing of it may become visible."""


class StorageCounters(Protocol):
    """Where the plane counts storage traffic (``Stats`` in the API process)."""

    def count_storage_request(self, header_names: Iterable[str]) -> None:
        """One storage request with these header names."""

    def count_storage_bytes(self, size: int) -> None:
        """A body of ``size`` bytes was received."""

    def count_checksum_failure(self) -> None:
        """A body did not match its CRC-32C."""

    def count_size_mismatch(self) -> None:
        """A body did not have its declared size."""


class StorageBackend(Protocol):
    """What a storage path means, and what a verified upload does."""

    @property
    def counters(self) -> StorageCounters:
        """Where storage traffic is counted."""

    def now(self) -> int:
        """Current time in ms (signature expiry)."""

    def slot(self, segments: list[str], query: Mapping[str, str]) -> Slot:
        """The object a PUT writes; StorageError (403 closed, 404 unknown) otherwise."""

    def exists(self, slot: Slot) -> bool:
        """Whether the object exists already (asked for exclusive writes only)."""

    def open(self, slot: Slot) -> BlobSink:
        """Where the body of a PUT to ``slot`` is written."""

    def commit(
        self, slot: Slot, blob: BlobSink, size: int, crc: int, exclusive: bool
    ) -> dict[str, str]:
        """Make the verified ``blob`` visible and record it; the response headers.
        FileExistsError when ``exclusive`` and the object exists by now."""

    def failed(self, slot: Slot, reason: str) -> None:
        """A body was refused (checksum or size)."""

    def download(self, segments: list[str]) -> Download:
        """The blobs a GET reads; StorageError 404 when unknown."""


def declared_crc(headers: Mapping[str, str]) -> int | None:
    """The CRC-32C of ``x-goog-hash`` (None if absent); 400 InvalidDigest when malformed."""
    header = headers.get("x-goog-hash")
    if header is None:
        return None
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "crc32c":
            parsed = parse_b64_crc32c(value.strip())
            if parsed is None:
                raise StorageError(400, "InvalidDigest", "x-goog-hash is malformed")
            return parsed
    return None


class Upload:
    """One PUT body on its way into a blob: ``feed`` the chunks, then ``finish`` or ``abort``."""

    def __init__(
        self, backend: StorageBackend, slot: Slot, declared: int | None, exclusive: bool
    ) -> None:
        self._backend = backend
        self._slot = slot
        self._declared = declared
        self._exclusive = exclusive
        self._blob = backend.open(slot)
        self.size = 0
        self._crc = 0

    def feed(self, chunk: bytes) -> None:
        """Hash and write one chunk of the body."""
        self.size += len(chunk)
        self._crc = google_crc32c.extend(self._crc, chunk)
        self._blob.write(chunk)

    def abort(self) -> None:
        """The body will not complete (client gone): store nothing."""
        self._blob.discard()

    def finish(self) -> dict[str, str]:
        """Verify checksum and size, then commit; the response headers (StorageError if not)."""
        counters = self._backend.counters
        counters.count_storage_bytes(self.size)
        expected = self._slot.expected_size
        error: StorageError | None = None
        if self._declared is not None and self._declared != self._crc:
            counters.count_checksum_failure()
            error = StorageError(400, "BadDigest", "The CRC32C you specified did not match")
        elif expected is not None and self.size != expected:
            counters.count_size_mismatch()
            error = StorageError(
                400, "BadDigest", f"Received {self.size} bytes, expected {expected}"
            )
        if error is not None:
            self._blob.discard()
            self._backend.failed(self._slot, error.message)
            raise error
        try:
            return self._backend.commit(
                self._slot, self._blob, self.size, self._crc, self._exclusive
            )
        except FileExistsError:
            self._blob.discard()
            raise StorageError(412, "PreconditionFailed", "The object already exists") from None
        except BaseException:
            self._blob.discard()
            raise


class StoragePlane:
    """Verifies signed-URL requests and starts transfers; one per backend."""

    def __init__(self, signer: UrlSigner, backend: StorageBackend) -> None:
        self.signer = signer
        self.backend = backend

    def begin(self, request: StorageRequest) -> Upload | Download:
        """Check signature, expiry, method and preconditions; StorageError when refused."""
        backend = self.backend
        backend.counters.count_storage_request(request.headers.keys())
        error = self.signer.verify(
            request.method, request.path, request.query, request.headers, backend.now()
        )
        if error is not None:
            raise StorageError(403, error)
        segments = request.path.removeprefix(STORAGE_PREFIX).split("/")
        if request.method == "GET":
            return backend.download(segments)
        declared = declared_crc(request.headers)
        slot = backend.slot(segments, request.query)
        exclusive = request.headers.get("x-goog-if-generation-match") == "0" or slot.write_once
        if exclusive and backend.exists(slot):
            raise StorageError(412, "PreconditionFailed", "The object already exists")
        return Upload(backend, slot, declared, exclusive)
