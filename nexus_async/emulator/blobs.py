"""Blob store on disk and signed storage URLs (HMAC-SHA256 over method, path, expiry, headers)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import os
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import google_crc32c

STORAGE_PREFIX = "/_storage/"
PARAM_PREFIX = "x-nexus-"
"""Query parameters starting with this are signed too (facts a stateless storage worker needs)."""


def crc32c_b64(unsigned: int) -> str:
    """Standard base64 of the 4-byte big-endian CRC-32C digest (nexus-api.md §13.3)."""
    return base64.b64encode(unsigned.to_bytes(4, "big")).decode("ascii")


def crc32c_signed(unsigned: int) -> int:
    """The digest read as a signed big-endian int32."""
    return unsigned - 2**32 if unsigned >= 2**31 else unsigned


def parse_b64_crc32c(value: str) -> int | None:
    """Decode a base64 CRC-32C digest into its unsigned value; None if malformed."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (ValueError, UnicodeError):
        return None
    return int.from_bytes(raw, "big") if len(raw) == 4 else None


_new_checksum: Callable[[], Any] = google_crc32c.Checksum


class Crc32c:
    """Incremental CRC-32C (Castagnoli) over streamed chunks."""

    def __init__(self) -> None:
        self._checksum = _new_checksum()

    def update(self, chunk: bytes) -> None:
        """Feed one chunk."""
        self._checksum.update(chunk)

    def value(self) -> int:
        """The unsigned 32-bit digest so far."""
        return int.from_bytes(self._checksum.digest(), "big")


@dataclass(frozen=True)
class SignedTarget:
    """A storage request the API hands out: method, storage path, headers and expiry."""

    method: str
    path: str
    headers: Mapping[str, str]
    expires_ms: int
    params: Mapping[str, str] | None = None


class UrlSigner:
    """Signs storage paths; the signature covers method, path, expiry and issued headers.

    The HMAC key schedule is computed once (``copy`` of a keyed object per signature: 1.2 µs,
    against 1.8 µs for the one-shot ``hmac.digest``, which redoes the key schedule).
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._mac = hmac.new(secret, digestmod=hashlib.sha256)

    def mac(self, canonical: str) -> str:
        """Hex HMAC-SHA256 of a canonical request text."""
        mac = self._mac.copy()
        mac.update(canonical.encode("utf-8"))
        return mac.hexdigest()

    def _digest(
        self,
        method: str,
        path: str,
        expires_ms: int,
        headers: Mapping[str, str],
        params: Mapping[str, str],
    ) -> str:
        canonical = "\n".join(
            [method.upper(), path, str(expires_ms)]
            + [f"{name.lower()}:{value.strip()}" for name, value in sorted(headers.items())]
            + [f"{name}={value}" for name, value in sorted(params.items())]
        )
        return self.mac(canonical)

    def sign(self, target: SignedTarget) -> str:
        """Return ``path?query`` of the signed URL for ``target`` (relative to the origin)."""
        names = ";".join(sorted(name.lower() for name in target.headers))
        headers = {name.lower(): value for name, value in target.headers.items()}
        params = dict(target.params or {})
        signature = self._digest(target.method, target.path, target.expires_ms, headers, params)
        extra = "".join(f"&{name}={quote(value, safe='')}" for name, value in params.items())
        return (
            f"{quote(target.path)}?X-Goog-Expires={target.expires_ms}"
            f"&X-Goog-SignedHeaders={quote(names, safe='')}{extra}&X-Goog-Signature={signature}"
        )

    def verify(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        request_headers: Mapping[str, str],
        now_ms: int,
    ) -> str | None:
        """Check a storage request; return None when valid, else the GCS error code."""
        try:
            expires_ms = int(query["X-Goog-Expires"])
            signature = query["X-Goog-Signature"]
            names = [n for n in query.get("X-Goog-SignedHeaders", "").split(";") if n]
        except (KeyError, ValueError):
            return "AccessDenied"
        signed = {name: request_headers.get(name, "") for name in names}
        params = {k: v for k, v in query.items() if k.startswith(PARAM_PREFIX)}
        expected = self._digest(method, path, expires_ms, signed, params)
        if not hmac.compare_digest(expected, signature):
            return "SignatureDoesNotMatch"
        if now_ms > expires_ms:
            return "ExpiredToken"
        return None


class Extent(NamedTuple):
    """Where a blob's bytes are: ``length`` bytes at ``offset`` of the file ``path`` (a whole
    per-blob file, or a range of a storage worker's pack file). A blob made of several pieces
    (multipart parts) is a list of extents, read in order."""

    path: str
    offset: int
    length: int

    @classmethod
    def whole(cls, path: str | os.PathLike[str], length: int | None = None) -> Extent:
        """All of the file at ``path`` (its size read from the file unless given)."""
        name = os.fspath(path)
        return cls(name, 0, os.stat(name).st_size if length is None else length)


def read_extents(extents: list[Extent], chunk: int) -> Iterator[bytes]:
    """The bytes of ``extents`` in order, at most ``chunk`` bytes at a time (positional reads,
    so a pack file shared by many blobs is never seeked). OSError when a file is shorter than
    its extent says (a corrupted store is not served as a shorter body)."""
    for path, offset, length in extents:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            end = offset + length
            while offset < end:
                data = os.pread(fd, min(chunk, end - offset), offset)
                if not data:
                    raise OSError(f"blob file {path} ends before its extent")
                offset += len(data)
                yield data
        finally:
            os.close(fd)


_temp_names = itertools.count()
_PID = os.getpid()


def _forked() -> None:
    global _PID  # temporary names must stay unique in a forked child
    _PID = os.getpid()


os.register_at_fork(after_in_child=_forked)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class BlobWriter:
    """Writes one blob atomically: the bytes go to a hidden temporary file next to ``final``,
    which only ``commit`` moves into place; readers never see a partial blob.

    Writes are plain blocking ``os.write`` calls: a 64 KiB write into the page cache costs less
    than a hop to a worker thread, and the chunks a server receives are at most that large.
    Paths are kept as strings (no ``pathlib`` on the hot path).
    """

    def __init__(self, final: str | os.PathLike[str]) -> None:
        self.final = final = os.fspath(final)
        head, _, name = final.rpartition("/")
        self.temp = f"{head}/.{name}.{_PID}.{next(_temp_names)}.part"
        try:
            self._fd: int | None = os.open(self.temp, _WRITE_FLAGS, 0o644)
        except FileNotFoundError:
            os.makedirs(head, exist_ok=True)
            self._fd = os.open(self.temp, _WRITE_FLAGS, 0o644)

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (one ``write`` call unless the kernel takes less)."""
        assert self._fd is not None
        written = os.write(self._fd, chunk)
        if written < len(chunk):
            view = memoryview(chunk)[written:]
            while view:
                view = view[os.write(self._fd, view) :]

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def commit(self, *, exclusive: bool = False) -> None:
        """Move the blob into place; with ``exclusive``, FileExistsError if ``final`` exists."""
        self._close()
        if exclusive:
            try:
                os.link(self.temp, self.final)
            finally:
                os.unlink(self.temp)
        else:
            os.replace(self.temp, self.final)

    def discard(self) -> None:
        """Drop the temporary file (idempotent; no effect after ``commit``)."""
        self._close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)


class BlobStore:
    """Files under a data directory; a temporary directory (removed on close) by default."""

    def __init__(self, data_dir: Path | None) -> None:
        self._made: set[str] = set()
        if data_dir is None:
            self.root = Path(tempfile.mkdtemp(prefix="nexus-emulator-"))
            self._finalizer: weakref.finalize[[str, bool], BlobStore] | None = weakref.finalize(
                self, shutil.rmtree, str(self.root), True
            )
        else:
            self.root = Path(data_dir)
            self.root.mkdir(parents=True, exist_ok=True)
            self._finalizer = None
        self._sessions: dict[str, Path] = {}

    def new_path(self, kind: str) -> Path:
        """A fresh, unique path for a blob of ``kind`` (its directory exists)."""
        directory = self.root / kind
        if kind not in self._made:
            directory.mkdir(parents=True, exist_ok=True)
            self._made.add(kind)
        return directory / uuid.uuid4().hex

    def ingest_path(self, session_id: str, index: int) -> Path:
        """Where item ``index`` of upload session ``session_id`` is stored (deterministic, so
        that a stateless storage worker and the API agree on it)."""
        directory = self._sessions.get(session_id)
        if directory is None:
            directory = self._sessions[session_id] = self.root / "assets" / session_id
        return directory / str(index)

    def write_bytes(self, kind: str, data: bytes) -> Path:
        """Store ``data`` as a new blob and return its path."""
        path = self.new_path(kind)
        path.write_bytes(data)
        return path

    def clear(self) -> None:
        """Delete every blob (keeps the root directory and the ``_`` control files)."""
        self._made.clear()
        self._sessions.clear()
        for child in self.root.iterdir():
            if child.name.startswith("_"):
                continue
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the data directory if it is temporary."""
        if self._finalizer is not None:
            self._finalizer()
