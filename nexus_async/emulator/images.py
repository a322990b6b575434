"""Image dimensions read from PNG and JPEG headers (no imaging library needed)."""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from nexus_async.emulator.blobs import Extent

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carrying the dimensions (all SOFn except DHT/JPG/DAC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xDA)) | {0x01}


_READ_AHEAD = 16 * 1024


class _ExtentReader:
    """Reads a blob's extents (e.g. multipart parts, or ranges of a pack file) as one stream,
    buffered, with forward skips."""

    def __init__(self, extents: Sequence[Extent]) -> None:
        self._extents = list(extents)
        self._index = 0
        self._position = 0
        """Offset inside the current extent of the first byte not yet buffered."""
        self._buffer = b""
        self._fds: dict[str, int] = {}

    def __enter__(self) -> _ExtentReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for fd in self._fds.values():
            os.close(fd)

    def _fill(self) -> bool:
        """Buffer more bytes; False at the end of the last extent."""
        while self._index < len(self._extents):
            path, offset, length = self._extents[self._index]
            if self._position >= length:
                self._index += 1
                self._position = 0
                continue
            fd = self._fds.get(path)
            if fd is None:
                fd = self._fds[path] = os.open(path, os.O_RDONLY)
            size = min(_READ_AHEAD, length - self._position)
            data = os.pread(fd, size, offset + self._position)
            if not data:
                raise OSError(f"blob file {path} ends before its extent")
            self._position += len(data)
            self._buffer += data
            return True
        return False

    def read(self, size: int) -> bytes:
        """Read up to ``size`` bytes (fewer only at the end of the last extent)."""
        while len(self._buffer) < size and self._fill():
            pass
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def skip(self, size: int) -> None:
        """Skip ``size`` bytes forward."""
        buffered = min(size, len(self._buffer))
        self._buffer = self._buffer[buffered:]
        size -= buffered
        while size > 0 and self._index < len(self._extents):
            left = self._extents[self._index].length - self._position
            if size < left:
                self._position += size
                return
            size -= left
            self._index += 1
            self._position = 0


def image_size(blob: Path | Sequence[Extent]) -> tuple[int, int]:
    """Return (width, height) of a PNG or JPEG stored in a file or in extents; (0, 0) if
    unknown (or unreadable)."""
    try:
        extents = [Extent.whole(blob)] if isinstance(blob, Path) else list(blob)
        with _ExtentReader(extents) as reader:
            head = reader.read(24)
            if head.startswith(_PNG_SIGNATURE) and head[12:16] == b"IHDR":
                width, height = struct.unpack(">II", head[16:24])
                return int(width), int(height)
            if head.startswith(b"\xff\xd8"):
                with _ExtentReader(extents) as jpeg:
                    jpeg.skip(2)
                    return _jpeg_size(jpeg)
    except OSError:
        pass
    return 0, 0


def _jpeg_size(reader: _ExtentReader) -> tuple[int, int]:
    while True:
        byte = reader.read(1)
        if not byte:
            return 0, 0
        if byte != b"\xff":
            continue
        marker = reader.read(1)
        while marker == b"\xff":
            marker = reader.read(1)
        if not marker:
            return 0, 0
        code = marker[0]
        if code in _STANDALONE_MARKERS or code == 0x00:
            continue
        if code == 0xD9:
            return 0, 0
        length_bytes = reader.read(2)
        if len(length_bytes) < 2:
            return 0, 0
        (length,) = struct.unpack(">H", length_bytes)
        if code in _SOF_MARKERS:
            data = reader.read(5)
            if len(data) < 5:
                return 0, 0
            height, width = struct.unpack(">HH", data[1:5])
            return int(width), int(height)
        reader.skip(length - 2)
