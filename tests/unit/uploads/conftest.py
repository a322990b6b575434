"""Shared fixtures: tiny generated file headers (never committed binaries), virtual time."""

from __future__ import annotations

import gzip
import struct
import types
from collections.abc import Iterator

import pytest
import respx

from nexus_async import _retry
from nexus_async.uploads import rate_limit
from tests.unit import payloads
from tests.unit.conftest import BASE_URL
from tests.virtual_clock import VirtualClock

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17) + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(64)
GIF = b"GIF89a" + bytes(64)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64)
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + bytes(64)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
JP2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 " + bytes(64)
ZIP = b"PK\x03\x04" + bytes(60)
PDF = b"%PDF-1.7\n" + bytes(64)
TEXT = b"this is not an image, just some notes\nline two\n"


def nifti1(magic: bytes = b"n+1\0") -> bytes:
    header = bytearray(352)
    header[0:4] = struct.pack("<i", 348)
    header[344:348] = magic
    return bytes(header)


def nifti2() -> bytes:
    header = bytearray(544)
    header[0:4] = struct.pack("<i", 540)
    header[4:8] = b"n+2\0"
    return bytes(header)


def dicom() -> bytes:
    return bytes(128) + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + bytes(32)


def nifti_gz() -> bytes:
    return gzip.compress(nifti1() + bytes(1000))


@pytest.fixture
def no_sleep(virtual_clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry sleeps recorded instead of slept, for storage clients made without a clock (the
    fallback ``sleep`` of parts that do not take a client's clock)."""
    monkeypatch.setattr(_retry, "_sleep", virtual_clock.sleep)
    return virtual_clock.slept


@pytest.fixture
def virtual_time(virtual_clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Sleeps recorded and added to a virtual monotonic clock read by the rate limiter.

    Pass ``clock=virtual_clock.clock`` to what you build; limiters and clients made without a
    clock read this one through the fallbacks, patched here.
    """
    monkeypatch.setattr(_retry, "_sleep", virtual_clock.sleep)
    monkeypatch.setattr(
        rate_limit, "time", types.SimpleNamespace(monotonic=virtual_clock.monotonic)
    )
    return virtual_clock.slept


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """One router for both hosts (the API and storage), so patterns are full URLs."""
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def project_route(api: respx.MockRouter) -> respx.Route:
    """The project's GET (an upload session's entry call)."""
    return api.get(f"{BASE_URL}/projects/{payloads.PROJECT_ID}").respond(json=payloads.project())
