"""The storage plane as a raw ASGI application (no Starlette routing on this path)."""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive, Scope, Send

from nexus_async.emulator.blobs import read_extents
from nexus_async.emulator.errors import StorageError
from nexus_async.emulator.storage.plane import (
    Download,
    StoragePlane,
    StorageRequest,
    parse_storage_query,
)

DOWNLOAD_CHUNK = 1024 * 1024


def request_of(scope: Scope) -> StorageRequest:
    """The plane's view of an ASGI HTTP scope."""
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    query = parse_storage_query(scope["query_string"].decode("latin-1"))
    return StorageRequest(scope["method"], scope["path"], query, headers)


async def _respond(
    send: Send, status: int, headers: dict[str, str], body: bytes = b"", more: bool = False
) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if "content-length" not in headers:
        raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": more})


async def _stream(send: Send, download: Download) -> None:
    size = sum(extent.length for extent in download.extents)
    headers = {"content-type": download.media_type, "content-length": str(size)}
    chunks = read_extents(download.extents, DOWNLOAD_CHUNK)
    try:
        first = await asyncio.to_thread(next, chunks, b"")  # a missing file is a 404, not a 200
    except OSError:
        raise StorageError(404, "NoSuchKey") from None
    await _respond(send, 200, headers, first, more=True)
    while chunk := await asyncio.to_thread(next, chunks, b""):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def error_response(error: StorageError) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and GCS-like XML body of a storage error."""
    return error.status, {"content-type": "application/xml"}, error.xml().encode()


class StorageApp:
    """ASGI callable serving ``/_storage/...`` through a ``StoragePlane``."""

    def __init__(self, plane: StoragePlane) -> None:
        self.plane = plane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one storage request."""
        try:
            transfer = self.plane.begin(request_of(scope))
            if isinstance(transfer, Download):
                await _stream(send, transfer)
                return
            try:
                while True:
                    message: Message = await receive()
                    if message["type"] == "http.disconnect":
                        transfer.abort()  # the client went away mid-body: nothing is stored
                        return
                    body = message.get("body", b"")
                    if body:
                        transfer.feed(body)
                    if not message.get("more_body", False):
                        break
            except BaseException:
                transfer.abort()
                raise
            headers = transfer.finish()
        except StorageError as error:
            await _respond(send, *error_response(error))
            return
        await _respond(send, 200, headers)
