"""Transfers to and from signed storage URLs (:class:`StorageClient`) over a swappable HTTP
engine (:mod:`.engine`: aiohttp on asyncio, httpx anywhere).

Example::

    async with StorageClient(engine="httpx") as storage:
        await storage.send_file("PUT", url, {"content-type": "image/png"}, "a.png")
"""

from nexus_async.uploads.storage.client import StorageClient, storage_for
from nexus_async.uploads.storage.engine import (
    EngineChoice,
    EngineOptions,
    EngineResponse,
    StorageEngine,
    TransferFailure,
)
from nexus_async.uploads.storage.redaction import redact_url

__all__ = [
    "EngineChoice",
    "EngineOptions",
    "EngineResponse",
    "StorageClient",
    "StorageEngine",
    "TransferFailure",
    "redact_url",
    "storage_for",
]
