"""Tiny but real media files for tests: PNG and JPEG headers with chosen dimensions."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def png_bytes(width: int, height: int, extra: bytes = b"") -> bytes:
    """A minimal PNG (signature, IHDR with the dimensions, IEND), plus ``extra`` bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"") + extra


def jpeg_bytes(width: int, height: int) -> bytes:
    """A minimal JPEG: SOI, APP0 (JFIF), SOF0 with the dimensions, EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def write_image_tree(root: Path, count: int, *, depth: int = 3) -> dict[str, int]:
    """``count`` small PNG files named ``img0000.png``... spread over ``depth`` levels of
    folders (flat when 0); returns file name -> size."""
    sizes: dict[str, int] = {}
    for i in range(count):
        folder = root.joinpath(*(f"d{(i >> level) % 3}" for level in range(depth)))
        folder.mkdir(parents=True, exist_ok=True)
        data = png_bytes(10 + i % 50, 20 + i % 30, extra=bytes(i % 200))
        (folder / f"img{i:04d}.png").write_bytes(data)
        sizes[f"img{i:04d}.png"] = len(data)
    return sizes
