"""Fixtures of the emulator tests: an in-process app with a manual clock, and helpers."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import google_crc32c
import httpx
import pytest
from starlette.applications import Starlette

from nexus_async.emulator import Emulator, EmulatorConfig, EmulatorServer, ManualClock, create_app
from nexus_async.testing import nexus_emulator  # noqa: F401  (fixture re-export)
from tests.media import jpeg_bytes, png_bytes  # noqa: F401  (re-exported to the emulator tests)

BASE = "http://emu.test"


def crc_unsigned(data: bytes) -> int:
    """CRC-32C of ``data`` as an unsigned int."""
    return int.from_bytes(google_crc32c.Checksum(data).digest(), "big")


def crc_signed(data: bytes) -> int:
    """CRC-32C as the signed int32 the session request carries."""
    value = crc_unsigned(data)
    return value - 2**32 if value >= 2**31 else value


def crc_b64(data: bytes) -> str:
    """CRC-32C as standard base64 of 4 big-endian bytes."""
    return base64.b64encode(crc_unsigned(data).to_bytes(4, "big")).decode()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when told to."""
    return ManualClock()


@pytest.fixture
def config() -> EmulatorConfig:
    """Default configuration (instant timing, rate limit on)."""
    return EmulatorConfig()


@pytest.fixture
def emulator(config: EmulatorConfig, clock: ManualClock) -> Iterator[Emulator]:
    """The in-process control object."""
    emu = Emulator(config, clock)
    yield emu
    emu.close()


@pytest.fixture
def app(emulator: Emulator) -> Starlette:
    """The emulator application."""
    return create_app(emulator=emulator)


@pytest.fixture
async def client(app: Starlette, emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client carrying the default workspace's key."""
    transport = httpx.ASGITransport(app)
    headers = {"Secret-Key": emulator.secret_key or ""}
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as c:
        yield c


@pytest.fixture
async def storage(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client without API headers, for signed URLs."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE) as c:
        yield c


@pytest.fixture
def pid(emulator: Emulator) -> str:
    """The default project id."""
    assert emulator.project_id is not None
    return emulator.project_id


async def create_session(
    client: httpx.AsyncClient,
    pid: str,
    files: dict[str, bytes],
    *,
    groups: list[str] | None = None,
    mime: str = "image/png",
    extra: dict[str, Any] | None = None,
) -> httpx.Response:
    """POST an upload session for ``files``."""
    assets = [
        {
            "filename": name,
            "size": len(data),
            "crc32c": crc_signed(data),
            "mime": mime,
            **(extra or {}),
        }
        for name, data in files.items()
    ]
    body: dict[str, Any] = {"assets": assets}
    if groups is not None:
        body["groups"] = groups
    return await client.post(f"/projects/{pid}/assetuploadsessions", json=body)


async def put_signed(
    storage: httpx.AsyncClient, upload: dict[str, Any], data: bytes
) -> httpx.Response:
    """Send bytes to a signed URL exactly as issued (no Secret-Key)."""
    return await storage.request(
        upload["method"], upload["url"], headers=upload["headers"], content=data
    )


async def upload_assets(
    client: httpx.AsyncClient,
    storage: httpx.AsyncClient,
    pid: str,
    files: dict[str, bytes],
    **kwargs: Any,
) -> dict[str, Any]:
    """Create a session and send every file; returns the session JSON."""
    response = await create_session(client, pid, files, **kwargs)
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    for item in session["assets"]:
        stored = await put_signed(storage, item["upload"], files[item["metadata"]["filename"]])
        assert stored.status_code == 200, stored.text
    return session


def open_upload(server: EmulatorServer, data: bytes, filename: str = "a.png") -> dict[str, Any]:
    """Create a one-file PNG upload session on a running emulator over real HTTP; return the
    session as the API answered it (``id``, ``opId``, ``assets[0].upload``...)."""
    headers = {"Secret-Key": server.secret_key or ""}
    item = {
        "filename": filename,
        "size": len(data),
        "crc32c": crc_signed(data),
        "mime": "image/png",
    }
    with httpx.Client(base_url=server.base_url, headers=headers) as api:
        answer = api.post(
            f"/projects/{server.project_id}/assetuploadsessions", json={"assets": [item]}
        )
    session: dict[str, Any] = answer.json()
    return session
