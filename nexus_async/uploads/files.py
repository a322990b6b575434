"""The description of one local file to upload, built in ONE worker-thread hop.

:func:`describe_asset_path` opens the file, stats it (zero bytes → refused; over its kind's limit
→ refused), reads its head, resolves its MIME type from extension and content, and hashes it:
small files (≤ ``SMALL_FILE_SIZE``) with a single read whose bytes can be kept to avoid reading
them again for the transfer; larger ones streamed through the hash in ``CHUNK_SIZE`` reads,
holding one chunk at a time. Nothing is read on the event loop.

**Checksums for every file.** The official SDK hashes only files under 1 GiB (weakness 10); we
hash every file so that :attr:`LocalFile.crc32c` is always the real digest (usable for the
``x-goog-hash`` of a single-shot transfer, an import or a dataset, or to verify a download).
What goes into the session request's ``assets[].crc32c`` field follows the server's semantics,
see :attr:`LocalFile.session_crc32c`: the real digest for files sent single-shot (including a
file of exactly 1 GiB, which the official SDK sends unchecked), ``0`` for multipart files, whose
bytes never reach the signed URL the digest would be checked against.

Example::

    file = await describe_asset_path("photos/a.png", custom_metadata={"camera": "left"})
    file.mime, file.size, file.session_crc32c
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

import anyio.to_thread
import google_crc32c

from nexus_async._constants import CHUNK_SIZE, MULTIPART_THRESHOLD, SMALL_FILE_SIZE, SNIFF_HEAD_SIZE
from nexus_async._exceptions import FileTooLargeError, InvalidInputError, UnsupportedFileError
from nexus_async._validation import check_bytes
from nexus_async.uploads.checksums import (
    bytes_crc32c,
    crc32c,
    crc32c_to_base64,
    crc32c_to_signed_int,
    x_goog_hash,
)
from nexus_async.uploads.metadata import (
    CustomMetadata,
    validate_custom_metadata,
    validate_filename,
)
from nexus_async.uploads.mime import AssetKind, AssetType, detect_asset_mime, file_extension

__all__ = [
    "LocalFile",
    "describe_asset_bytes",
    "describe_asset_path",
    "describe_asset_paths",
    "describe_file",
]


@dataclasses.dataclass(frozen=True, slots=True)
class LocalFile:
    """One file to send: where its bytes are, and what the server is told about them.

    Exactly one of ``path`` and ``data`` is set. ``data`` is also set for a small file read
    from ``path`` when the caller asked to keep its bytes. ``mime``/``kind`` are None for
    files that are not assets (annotation imports, NDJSON datasets). ``frames`` is the frame
    count of a video when known (videos made from medical files), else None.
    """

    filename: str
    size: int
    crc32c: int
    mime: str | None = None
    kind: AssetKind | None = None
    path: Path | None = None
    data: bytes | None = dataclasses.field(default=None, repr=False)
    custom_metadata: CustomMetadata = dataclasses.field(default_factory=dict)
    frames: int | None = None

    @property
    def is_multipart(self) -> bool:
        """Whether the file goes to storage in parts (strictly larger than 1 GiB, §6.4)."""
        return self.size > MULTIPART_THRESHOLD

    @property
    def session_crc32c(self) -> int:
        """The session request's ``assets[].crc32c``: signed int32 digest, ``0`` if multipart."""
        return 0 if self.is_multipart else crc32c_to_signed_int(self.crc32c)

    @property
    def crc32c_base64(self) -> str:
        """The digest as imports and datasets send it (standard base64 of 4 bytes)."""
        return crc32c_to_base64(self.crc32c)

    @property
    def x_goog_hash(self) -> str:
        """The ``x-goog-hash`` header value of the whole file."""
        return x_goog_hash(self.crc32c)


def _too_large(name: str, size: int, asset_type: AssetType) -> FileTooLargeError:
    return FileTooLargeError(
        f"{name} is {size} bytes, over the {asset_type.max_size}-byte limit of "
        f"{asset_type.kind.value} assets ({asset_type.mime})",
        path=name,
        limit=asset_type.max_size,
    )


def _hash_rest(file: BinaryIO, digest: int, size: int, chunk_size: int) -> tuple[int, int]:
    """Blocking: continue ``digest`` over the rest of ``file``; (digest, total bytes seen)."""
    while chunk := file.read(chunk_size):
        digest = int(google_crc32c.extend(digest, chunk))
        size += len(chunk)
    return digest, size


def _read_error(path: Path, exc: OSError) -> InvalidInputError:
    reason = exc.strerror or type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        return InvalidInputError(f"No such file or directory: '{path}'")
    return InvalidInputError(f"Cannot read '{path}': {reason}")


def _describe_asset_sync(
    path: Path,
    *,
    rgbd: bool,
    keep_bytes: bool,
    small_file_size: int,
    chunk_size: int,
    hash_max_size: int | None = None,
) -> tuple[int, int, AssetType, bytes | None]:
    """Blocking (run in a thread): (size, digest, type, bytes if kept).

    Files larger than ``hash_max_size`` are sniffed and size-checked but not hashed (digest 0).
    """
    name = str(path)
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size == 0:
                raise UnsupportedFileError(f"Unsupported asset file {name}: it is empty", path=name)
            if size <= small_file_size:
                data = file.read()
                asset_type = detect_asset_mime(name, data[:SNIFF_HEAD_SIZE], rgbd=rgbd)
                if len(data) > asset_type.max_size:
                    raise _too_large(name, len(data), asset_type)
                return len(data), crc32c(data), asset_type, data if keep_bytes else None
            head = file.read(SNIFF_HEAD_SIZE)
            asset_type = detect_asset_mime(name, head, rgbd=rgbd)
            if size > asset_type.max_size:
                raise _too_large(name, size, asset_type)
            if hash_max_size is not None and size > hash_max_size:
                return size, 0, asset_type, None
            digest, size = _hash_rest(file, crc32c(head), len(head), chunk_size)
            return size, digest, asset_type, None
    except OSError as exc:
        raise _read_error(path, exc) from exc


async def describe_asset_path(
    path: str | os.PathLike[str],
    *,
    rgbd: bool = False,
    custom_metadata: object = None,
    keep_bytes: bool = False,
    small_file_size: int = SMALL_FILE_SIZE,
    chunk_size: int = CHUNK_SIZE,
    hash_max_size: int | None = None,
) -> LocalFile:
    """Describe an asset file (size, MIME type, kind, CRC-32C) in one worker-thread hop.

    Files larger than ``hash_max_size`` (None: no limit) get ``crc32c=0`` without being read
    past their head: files sent in parts are announced with checksum 0 (nexus-api.md §6.4),
    so hashing them would only read gigabytes for nothing.

    ``keep_bytes=True`` keeps the bytes of files up to ``small_file_size`` in
    :attr:`LocalFile.data` so that the transfer need not read them again; leave it False when
    describing many files ahead of their transfer (100 000 kept files would all sit in memory).

    Raises :class:`~nexus_async.UnsupportedFileError` (empty, unsupported or disguised file),
    :class:`~nexus_async.FileTooLargeError`, :class:`~nexus_async.InvalidMetadataError`, or
    :class:`~nexus_async.InvalidInputError` (missing or unreadable file).

    Example::

        file = await describe_asset_path("clip.MP4")
        file.mime, file.kind, file.size  # "video/mp4", AssetKind.VIDEO, 1048576
    """
    metadata = validate_custom_metadata(custom_metadata)
    resolved = Path(path)
    return await anyio.to_thread.run_sync(
        lambda: _local_asset_file(
            resolved,
            metadata,
            rgbd=rgbd,
            keep_bytes=keep_bytes,
            small_file_size=small_file_size,
            chunk_size=chunk_size,
            hash_max_size=hash_max_size,
        )
    )


def _local_asset_file(path: Path, metadata: CustomMetadata, **options: Any) -> LocalFile:
    """Blocking: the :class:`LocalFile` of an asset file (see :func:`_describe_asset_sync`)."""
    size, digest, asset_type, data = _describe_asset_sync(path, **options)
    return LocalFile(
        filename=path.name,
        size=size,
        crc32c=digest,
        mime=asset_type.mime,
        kind=asset_type.kind,
        path=path,
        data=data,
        custom_metadata=metadata,
    )


def _local_asset_files(
    paths: Sequence[Path], metadata: CustomMetadata, **options: Any
) -> list[LocalFile | InvalidInputError]:
    results: list[LocalFile | InvalidInputError] = []
    for path in paths:
        try:
            results.append(_local_asset_file(path, metadata, **options))
        except InvalidInputError as exc:
            results.append(exc)
    return results


async def describe_asset_paths(
    paths: Sequence[Path],
    *,
    rgbd: bool = False,
    custom_metadata: CustomMetadata,
    chunk_size: int = CHUNK_SIZE,
    hash_max_size: int | None = None,
) -> list[LocalFile | InvalidInputError]:
    """Describe several asset files in ONE worker-thread hop (as :func:`describe_asset_path`
    with ``keep_bytes=False``): with thousands of small files, a hop per file costs more than
    reading and hashing them. A file that cannot be accepted gives its error in its place and
    the others are still described, so the caller reports the first one in order.

    ``custom_metadata`` must be validated already (:func:`validate_custom_metadata`); every
    file shares that one dict.

    Example::

        [photo, error] = await describe_asset_paths(
            [Path("a.png"), Path("notes.txt")], custom_metadata={}
        )
        isinstance(error, UnsupportedFileError)  # True
    """
    return await anyio.to_thread.run_sync(
        lambda: _local_asset_files(
            paths,
            custom_metadata,
            rgbd=rgbd,
            keep_bytes=False,
            small_file_size=SMALL_FILE_SIZE,
            chunk_size=chunk_size,
            hash_max_size=hash_max_size,
        )
    )


async def describe_asset_bytes(
    data: bytes, filename: str, *, rgbd: bool = False, custom_metadata: object = None
) -> LocalFile:
    """Describe in-memory asset bytes (``add_bytes``): every supported type is accepted, by the
    extension of ``filename`` and by content; the bytes are hashed off the loop when large.

    Example::

        file = await describe_asset_bytes(jpeg_bytes, "frame-001.jpg")
    """
    name = validate_filename(filename)
    if not file_extension(name):
        raise UnsupportedFileError(
            f"{name}: add_bytes needs the file name with its extension (e.g. frame-001.jpg)",
            path=name,
        )
    metadata = validate_custom_metadata(custom_metadata)
    data = check_bytes("file_bytes", data)
    if not data:
        raise UnsupportedFileError(f"Unsupported asset file {name}: it is empty", path=name)
    asset_type = detect_asset_mime(name, data[:SNIFF_HEAD_SIZE], rgbd=rgbd)
    if len(data) > asset_type.max_size:
        raise _too_large(name, len(data), asset_type)
    return LocalFile(
        filename=name,
        size=len(data),
        crc32c=await bytes_crc32c(data),
        mime=asset_type.mime,
        kind=asset_type.kind,
        data=data,
        custom_metadata=metadata,
    )


def _describe_plain_sync(
    path: Path, keep_bytes: bool, small_file_size: int, chunk_size: int
) -> tuple[int, int, bytes | None]:
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size <= small_file_size:
                data = file.read()
                return len(data), crc32c(data), data if keep_bytes else None
            digest, size = _hash_rest(file, 0, 0, chunk_size)
            return size, digest, None
    except OSError as exc:
        raise _read_error(path, exc) from exc


async def describe_file(
    path: str | os.PathLike[str],
    *,
    filename: str | None = None,
    keep_bytes: bool = False,
    small_file_size: int = SMALL_FILE_SIZE,
    chunk_size: int = CHUNK_SIZE,
) -> LocalFile:
    """Describe a non-asset file (annotation import file, NDJSON dataset): size and CRC-32C in
    one worker-thread hop; no type checks. ``filename`` defaults to the path's base name.

    Example::

        file = await describe_file("labels.csv")
        {"filename": file.filename, "size": file.size, "crc32c": file.crc32c_base64}
    """
    resolved = Path(path)
    name = validate_filename(filename if filename is not None else resolved.name)
    size, digest, data = await anyio.to_thread.run_sync(
        _describe_plain_sync, resolved, keep_bytes, small_file_size, chunk_size
    )
    return LocalFile(filename=name, size=size, crc32c=digest, path=resolved, data=data)
