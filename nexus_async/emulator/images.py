"""Image dimensions read from PNG and JPEG headers (no imaging library needed)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carrying the dimensions (all SOFn except DHT/JPG/DAC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xDA)) | {0x01}


class _ChainedReader:
    """Reads several files (e.g. multipart parts) as one stream, with forward skips."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._handle: BinaryIO | None = None

    def __enter__(self) -> _ChainedReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.close()

    def _current(self) -> BinaryIO | None:
        if self._handle is None and self._paths:
            self._handle = self._paths.pop(0).open("rb")
        return self._handle

    def _next(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def read(self, size: int) -> bytes:
        """Read up to ``size`` bytes (fewer only at the end of the last file)."""
        out = b""
        while len(out) < size:
            handle = self._current()
            if handle is None:
                break
            chunk = handle.read(size - len(out))
            if not chunk:
                self._next()
                continue
            out += chunk
        return out

    def skip(self, size: int) -> None:
        """Skip ``size`` bytes forward."""
        while size > 0:
            handle = self._current()
            if handle is None:
                return
            position = handle.tell()
            end = handle.seek(0, 2)
            if position + size <= end:
                handle.seek(position + size)
                return
            size -= end - position
            self._next()


def image_size(paths: Path | Sequence[Path]) -> tuple[int, int]:
    """Return (width, height) of a PNG or JPEG stored in one or more files; (0, 0) if unknown."""
    files = [paths] if isinstance(paths, Path) else list(paths)
    try:
        with _ChainedReader(files) as reader:
            head = reader.read(24)
            if head.startswith(_PNG_SIGNATURE) and head[12:16] == b"IHDR":
                width, height = struct.unpack(">II", head[16:24])
                return int(width), int(height)
            if head.startswith(b"\xff\xd8"):
                with _ChainedReader(files) as jpeg:
                    jpeg.skip(2)
                    return _jpeg_size(jpeg)
    except OSError:
        pass
    return 0, 0


def _jpeg_size(reader: _ChainedReader) -> tuple[int, int]:
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
