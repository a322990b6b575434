"""Image dimensions read from PNG and JPEG headers (no imaging library needed)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carrying the dimensions (all SOFn except DHT/JPG/DAC).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset(range(0xD0, 0xDA)) | {0x01}


def image_size(path: Path) -> tuple[int, int]:
    """Return (width, height) of a PNG or JPEG file; (0, 0) when unknown or unreadable."""
    try:
        with path.open("rb") as handle:
            head = handle.read(24)
            if head.startswith(_PNG_SIGNATURE) and head[12:16] == b"IHDR":
                width, height = struct.unpack(">II", head[16:24])
                return int(width), int(height)
            if head.startswith(b"\xff\xd8"):
                handle.seek(2)
                return _jpeg_size(handle)
    except OSError:
        pass
    return 0, 0


def _jpeg_size(handle: BinaryIO) -> tuple[int, int]:
    while True:
        byte = handle.read(1)
        if not byte:
            return 0, 0
        if byte != b"\xff":
            continue
        marker = handle.read(1)
        while marker == b"\xff":
            marker = handle.read(1)
        if not marker:
            return 0, 0
        code = marker[0]
        if code in _STANDALONE_MARKERS or code == 0x00:
            continue
        if code == 0xD9:
            return 0, 0
        length_bytes = handle.read(2)
        if len(length_bytes) < 2:
            return 0, 0
        (length,) = struct.unpack(">H", length_bytes)
        if code in _SOF_MARKERS:
            data = handle.read(5)
            if len(data) < 5:
                return 0, 0
            height, width = struct.unpack(">HH", data[1:5])
            return int(width), int(height)
        handle.seek(length - 2, 1)
