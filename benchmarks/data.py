"""Benchmark inputs, generated into a temporary directory (never committed).

Images are valid PNG files of an exact size: a 1x1 image whose bulk is an ancillary chunk of
random bytes, so every file is distinct (distinct CRC-32C) and passes content sniffing. The
large file is an MP4 (an ``ftyp`` box, then one ``mdat`` box of pseudo-random bytes).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import google_crc32c

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BLOCK = 16 * 1024 * 1024


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_bytes(size: int) -> bytes:
    """A valid 1x1 RGB PNG of exactly ``size`` bytes (size >= 128)."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    image = _chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00")) + _chunk(b"IEND", b"")
    padding = size - len(PNG_SIGNATURE) - len(header) - len(image) - 12
    if padding < 0:
        raise ValueError(f"a PNG needs at least {size - padding} bytes")
    return PNG_SIGNATURE + header + _chunk(b"raNd", os.urandom(padding)) + image


def crc32c_of(data: bytes) -> int:
    """The unsigned CRC-32C of ``data``."""
    return int(google_crc32c.value(data))


def write_images(folder: Path, count: int, size: int, first: int = 0) -> dict[str, tuple[int, int]]:
    """``count`` PNGs of ``size`` bytes in ``folder``, numbered from ``first`` (names stay
    distinct across folders); returns name -> (size, crc32c)."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, tuple[int, int]] = {}
    for index in range(first, first + count):
        data = png_bytes(size)
        name = f"img-{index:06d}.png"
        (folder / name).write_bytes(data)
        expected[name] = (size, crc32c_of(data))
    return expected


def write_video(path: Path, size: int) -> dict[str, tuple[int, int]]:
    """An MP4 of ``size`` bytes at ``path``; returns name -> (size, crc32c)."""
    ftyp = struct.pack(">I", 24) + b"ftypmp42" + b"\x00\x00\x00\x00" + b"mp42isom"
    mdat = struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", size - len(ftyp))
    block = bytearray(os.urandom(BLOCK))
    crc = 0
    written = 0
    with path.open("wb") as stream:
        for head in (ftyp, mdat):
            stream.write(head)
            crc = int(google_crc32c.extend(crc, head))
            written += len(head)
        counter = 0
        while written < size:
            counter += 1
            block[:8] = counter.to_bytes(8, "big")
            piece = bytes(block[: size - written])
            stream.write(piece)
            crc = int(google_crc32c.extend(crc, piece))
            written += len(piece)
    return {path.name: (size, crc)}
