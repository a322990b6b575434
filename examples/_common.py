"""Shared by the examples: where to connect, and small sample images.

With ``NEXUS_SECRET_KEY`` set, the examples use that workspace (``NEXUS_PROJECT_ID`` names the
project, ``DATATURE_API_BASE_URL`` the endpoint). Without it they start a local emulator
(``pip install nexus-async[emulator]``) and use its default project, so they run offline.
"""

from __future__ import annotations

import os
import random
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nexus_async import AsyncClient, Project


@asynccontextmanager
async def connect() -> AsyncIterator[tuple[AsyncClient, Project]]:
    """A client and a project: the real workspace if a key is set, else a local emulator."""
    if os.environ.get("NEXUS_SECRET_KEY"):
        async with AsyncClient() as client:  # key and endpoint from the environment
            project_id = os.environ.get("NEXUS_PROJECT_ID")
            if project_id:
                yield client, client.get_project(project_id)
            else:
                yield client, (await client.list_projects())[0]
        return
    from nexus_async.testing import EmulatorServer

    async with EmulatorServer() as server:
        print(f"(no NEXUS_SECRET_KEY: using a local emulator at {server.base_url})")
        assert server.project_id is not None
        async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
            yield client, client.get_project(server.project_id)


def png_image(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A small, real RGB PNG of coloured noise."""
    rng = random.Random(seed)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(
        b"\x00" + bytes(rng.randrange(256) for _ in range(width * 3)) for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
