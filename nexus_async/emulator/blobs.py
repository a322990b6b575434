"""Blob store on disk and signed storage URLs (HMAC-SHA256 over method, path, expiry, headers)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import google_crc32c

STORAGE_PREFIX = "/_storage/"


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


class UrlSigner:
    """Signs storage paths; the signature covers method, path, expiry and issued headers."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _digest(self, method: str, path: str, expires_ms: int, headers: Mapping[str, str]) -> str:
        canonical = "\n".join(
            [method.upper(), path, str(expires_ms)]
            + [f"{name.lower()}:{value.strip()}" for name, value in sorted(headers.items())]
        )
        return hmac.new(self._secret, canonical.encode("utf-8"), hashlib.sha256).hexdigest()

    def sign(self, target: SignedTarget) -> str:
        """Return ``path?query`` of the signed URL for ``target`` (relative to the origin)."""
        names = ";".join(sorted(name.lower() for name in target.headers))
        headers = {name.lower(): value for name, value in target.headers.items()}
        signature = self._digest(target.method, target.path, target.expires_ms, headers)
        return (
            f"{quote(target.path)}?X-Goog-Expires={target.expires_ms}"
            f"&X-Goog-SignedHeaders={quote(names, safe='')}&X-Goog-Signature={signature}"
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
        expected = self._digest(method, path, expires_ms, signed)
        if not hmac.compare_digest(expected, signature):
            return "SignatureDoesNotMatch"
        if now_ms > expires_ms:
            return "ExpiredToken"
        return None


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

    def new_path(self, kind: str) -> Path:
        """A fresh, unique path for a blob of ``kind`` (its directory exists)."""
        directory = self.root / kind
        if kind not in self._made:
            directory.mkdir(parents=True, exist_ok=True)
            self._made.add(kind)
        return directory / uuid.uuid4().hex

    def write_bytes(self, kind: str, data: bytes) -> Path:
        """Store ``data`` as a new blob and return its path."""
        path = self.new_path(kind)
        path.write_bytes(data)
        return path

    def clear(self) -> None:
        """Delete every blob (keeps the root directory)."""
        self._made.clear()
        for child in self.root.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the data directory if it is temporary."""
        if self._finalizer is not None:
            self._finalizer()
