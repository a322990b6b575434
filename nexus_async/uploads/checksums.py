"""CRC-32C (Castagnoli) digests and their wire encodings (nexus-api.md §13.3).

A digest is the unsigned 32-bit value; the wire wants it as a signed big-endian int32 in the
asset-upload session request, and as standard base64 of its 4 big-endian bytes everywhere else
(``x-goog-hash``, annotation import files, NDJSON datasets).

Hashing never runs on the event loop for anything but tiny buffers: files are hashed inside one
worker-thread hop that also reads them (measurements.md: a hop costs 25-50 us).

Example::

    digest = await file_crc32c("image.png")
    crc32c_to_signed_int(digest)   # assets[].crc32c
    x_goog_hash(digest)            # "crc32c=..."
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

import anyio.to_thread
import google_crc32c

from nexus_async._constants import CHUNK_SIZE, HASH_ON_LOOP_MAX_SIZE

__all__ = [
    "base64_to_crc32c",
    "bytes_crc32c",
    "crc32c",
    "crc32c_to_base64",
    "crc32c_to_signed_int",
    "file_crc32c",
    "hash_file_range",
    "read_and_hash",
    "read_and_hash_sync",
    "signed_int_to_crc32c",
    "x_goog_hash",
]

_MAX_DIGEST = 0xFFFFFFFF


def _check_digest(digest: int) -> int:
    if not 0 <= digest <= _MAX_DIGEST:
        raise ValueError(f"a CRC-32C digest is an unsigned 32-bit value, got {digest}")
    return digest


def crc32c_to_signed_int(digest: int) -> int:
    """The digest as the signed big-endian int32 of the session request's ``crc32c`` field.

    Example::

        crc32c_to_signed_int(0xE3069283)  # -486108541
    """
    _check_digest(digest)
    return digest - 0x1_0000_0000 if digest >= 0x8000_0000 else digest


def signed_int_to_crc32c(value: int) -> int:
    """Inverse of :func:`crc32c_to_signed_int` (accepts the unsigned form too).

    Example::

        signed_int_to_crc32c(-486108541)  # 0xE3069283
    """
    if not -0x8000_0000 <= value <= _MAX_DIGEST:
        raise ValueError(f"not a 32-bit CRC-32C value: {value}")
    return value & _MAX_DIGEST


def crc32c_to_base64(digest: int) -> str:
    """Standard base64 (padded) of the digest's 4 big-endian bytes.

    Example::

        crc32c_to_base64(0xE3069283)  # "4waSgw=="
    """
    return base64.b64encode(_check_digest(digest).to_bytes(4, "big")).decode("ascii")


def base64_to_crc32c(text: str) -> int:
    """Inverse of :func:`crc32c_to_base64`; ``ValueError`` unless it decodes to 4 bytes.

    Example::

        base64_to_crc32c("4waSgw==")  # 0xE3069283
    """
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not base64: {text!r}") from exc
    if len(raw) != 4:
        raise ValueError(f"a CRC-32C digest is 4 bytes, {text!r} decodes to {len(raw)}")
    return int.from_bytes(raw, "big")


def x_goog_hash(digest: int) -> str:
    """The ``x-goog-hash`` header value for the digest.

    Example::

        x_goog_hash(0xE3069283)  # "crc32c=4waSgw=="
    """
    return f"crc32c={crc32c_to_base64(digest)}"


def crc32c(data: bytes | bytearray | memoryview, *, initial: int = 0) -> int:
    """Digest of in-memory data, computed right here (use for small buffers or inside threads).

    ``initial`` continues a previous digest, so ``crc32c(b, initial=crc32c(a)) == crc32c(a + b)``.

    Example::

        crc32c(b"123456789")  # 0xE3069283
    """
    # google_crc32c accepts bytes only (measurements.md).
    chunk = data if isinstance(data, bytes) else bytes(data)
    return int(google_crc32c.extend(initial, chunk))


async def bytes_crc32c(data: bytes | bytearray | memoryview) -> int:
    """Digest of in-memory data; buffers larger than 1 MiB are hashed in a worker thread.

    Example::

        digest = await bytes_crc32c(frame_bytes)
    """
    if len(data) <= HASH_ON_LOOP_MAX_SIZE:
        return crc32c(data)
    return await anyio.to_thread.run_sync(crc32c, data)


def hash_file_range(
    path: str | os.PathLike[str],
    *,
    offset: int = 0,
    length: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Blocking: digest of ``length`` bytes of a file from ``offset`` (to the end when None).

    Call it from a worker thread (it is what :func:`file_crc32c` runs there).

    Example::

        digest = await anyio.to_thread.run_sync(hash_file_range, "big.mp4")
    """
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    digest = 0
    with open(path, "rb") as file:
        if offset:
            file.seek(offset)
        remaining = length
        while remaining is None or remaining > 0:
            chunk = file.read(chunk_size if remaining is None else min(chunk_size, remaining))
            if not chunk:
                break
            digest = int(google_crc32c.extend(digest, chunk))
            if remaining is not None:
                remaining -= len(chunk)
    return digest


async def file_crc32c(path: str | os.PathLike[str], *, chunk_size: int = CHUNK_SIZE) -> int:
    """Digest of a whole file, streamed in ``chunk_size`` reads inside ONE worker-thread hop.

    Memory stays at one chunk whatever the file size.

    Example::

        digest = await file_crc32c("clip.mp4")
    """
    return await anyio.to_thread.run_sync(lambda: hash_file_range(path, chunk_size=chunk_size))


def read_and_hash_sync(path: str | os.PathLike[str]) -> tuple[bytes, int]:
    """Blocking: the whole file's bytes and their digest (for small files, inside a thread).

    Example::

        data, digest = await anyio.to_thread.run_sync(read_and_hash_sync, "small.png")
    """
    data = Path(path).read_bytes()
    return data, crc32c(data)


async def read_and_hash(path: str | os.PathLike[str]) -> tuple[bytes, int]:
    """A small file's bytes and digest, read and hashed in ONE worker-thread hop.

    The whole file is held in memory: use it for files up to a few MiB (``SMALL_FILE_SIZE``)
    and :func:`file_crc32c` for larger ones.

    Example::

        data, digest = await read_and_hash("label.csv")
    """
    return await anyio.to_thread.run_sync(read_and_hash_sync, path)
