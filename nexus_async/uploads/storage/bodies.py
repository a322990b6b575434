"""Request bodies read from disk and response bodies written to it, memory bounded by one chunk."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import anyio
import google_crc32c

from nexus_async._exceptions import InvalidInputError

__all__ = ["FileRange", "open_for_writing", "read_range_sync", "remove_quietly", "write_and_hash"]


def read_range_sync(path: Path, offset: int, length: int | None, inline_max: int) -> bytes | int:
    """Blocking: the range's bytes if it is at most ``inline_max`` long, else its length."""
    with open(path, "rb") as file:
        available = os.fstat(file.fileno()).st_size - offset
        if offset < 0 or available < 0:
            raise InvalidInputError(f"offset {offset} is outside '{path}'")
        if length is None:
            length = available
        elif length < 0 or length > available:
            raise InvalidInputError(
                f"'{path}' has {available} bytes from offset {offset}, not {length}"
            )
        if length > inline_max:
            return length
        file.seek(offset)
        data = file.read(length)
    if len(data) != length:
        raise InvalidInputError(f"'{path}' changed while being read")
    return data


class FileRange:
    """Exactly ``length`` bytes of an open file as an async iterable, one thread hop per chunk.

    It can be iterated once: the file position moves as it is read, so a second pass (an HTTP
    library resending the body by itself) would send the wrong bytes under the same
    ``Content-Length``; it fails instead, and the caller's retry re-reads the range.
    An error it raises is also kept in :attr:`error`: some engines report a failing body as
    a broken connection, and the caller must see the real cause (a file that shrank).
    """

    def __init__(
        self, file: anyio.AsyncFile[bytes], path: Path, length: int, chunk_size: int
    ) -> None:
        self._file = file
        self._path = path
        self._length = length
        self._chunk_size = chunk_size
        self.error: InvalidInputError | None = None
        self._started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started:
            raise RuntimeError(f"the body read from '{self._path}' cannot be sent twice")
        self._started = True
        remaining = self._length
        while remaining > 0:
            chunk = await self._file.read(min(self._chunk_size, remaining))
            if not chunk:
                self.error = InvalidInputError(f"'{self._path}' shrank while being uploaded")
                raise self.error
            remaining -= len(chunk)
            yield chunk


def write_and_hash(file: IO[bytes], chunk: bytes, digest: int) -> int:
    """Blocking: write ``chunk`` and continue the digest over it, in the same thread hop."""
    file.write(chunk)
    return int(google_crc32c.extend(digest, chunk))


def open_for_writing(path: Path) -> IO[bytes]:
    return open(path, "wb")  # the caller closes it, in another thread hop


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
