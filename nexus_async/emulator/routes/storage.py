"""Signed-URL storage: verifies signature, method, headers, CRC-32C and size; streams to disk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from nexus_async.emulator.blobs import Crc32c, parse_b64_crc32c
from nexus_async.emulator.errors import StorageError
from nexus_async.emulator.routes.common import Context, parse_query
from nexus_async.emulator.state import StorageSlot

DOWNLOAD_CHUNK = 1024 * 1024
FLUSH_BYTES = 1024 * 1024


class BlobSink:
    """Writes a streamed body to a file off the event loop, hashing it incrementally.

    Chunks are buffered up to ``FLUSH_BYTES`` (bounded memory), then hashed and written in a
    worker thread, so one thread hop usually handles a whole small upload (open, write, close).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.checksum = Crc32c()
        self.size = 0
        self._handle: BinaryIO | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0

    def _write(self, chunks: list[bytes], close: bool) -> None:
        if self._handle is None:
            self._handle = self.path.open("wb")
        for chunk in chunks:
            self.checksum.update(chunk)
            self._handle.write(chunk)
        if close:
            self._handle.close()

    async def add(self, chunk: bytes) -> None:
        """Buffer one chunk; flush in a thread once enough is pending."""
        self.size += len(chunk)
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= FLUSH_BYTES:
            pending, self._pending, self._pending_size = self._pending, [], 0
            await asyncio.to_thread(self._write, pending, False)

    async def finish(self) -> None:
        """Write what is pending and close the file."""
        pending, self._pending, self._pending_size = self._pending, [], 0
        await asyncio.to_thread(self._write, pending, True)

    def discard(self) -> None:
        """Close and delete the partial file."""
        if self._handle is not None and not self._handle.closed:
            self._handle.close()
        self.path.unlink(missing_ok=True)


async def _read_chunks(paths: list[Path]) -> AsyncIterator[bytes]:
    for path in paths:
        with path.open("rb") as handle:
            while True:
                chunk = await asyncio.to_thread(handle.read, DOWNLOAD_CHUNK)
                if not chunk:
                    break
                yield chunk


def _declared_crc(request: Request) -> int | str | None:
    """The CRC-32C of ``x-goog-hash`` (None if absent, "bad" when malformed)."""
    header = request.headers.get("x-goog-hash")
    if header is None:
        return None
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "crc32c":
            parsed = parse_b64_crc32c(value.strip())
            return "bad" if parsed is None else parsed
    return None


def routes(ctx: Context) -> list[Route]:
    """The ``/_storage/...`` route serving every signed URL."""
    emulator = ctx.emulator
    state = ctx.state
    stats = emulator.counters

    async def receive(request: Request, slot: StorageSlot) -> tuple[Path, int, int]:
        """Stream the body to a new blob, verifying CRC-32C and size; (path, size, crc)."""
        declared = _declared_crc(request)
        if declared == "bad":
            raise StorageError(400, "InvalidDigest", "x-goog-hash is malformed")
        sink = BlobSink(emulator.blobs.new_path(slot.blob_kind))
        try:
            async for chunk in request.stream():
                if chunk:
                    await sink.add(chunk)
            await sink.finish()
        except BaseException:
            sink.discard()
            raise
        stats.storage_bytes_received += sink.size
        actual = sink.checksum.value()
        if isinstance(declared, int) and declared != actual:
            sink.discard()
            stats.checksum_failures += 1
            raise StorageError(400, "BadDigest", "The CRC32C you specified did not match")
        expected = slot.expected_size
        if expected is not None and sink.size != expected:
            sink.discard()
            stats.size_mismatches += 1
            raise StorageError(400, "BadDigest", f"Received {sink.size} bytes, expected {expected}")
        return sink.path, sink.size, actual

    async def put_object(request: Request, segments: list[str]) -> Response:
        slot = state.storage_slot(segments)
        generation_zero = request.headers.get("x-goog-if-generation-match") == "0"
        if slot.written and (generation_zero or slot.write_once):
            raise StorageError(412, "PreconditionFailed", "The object already exists")
        try:
            path, size, crc = await receive(request, slot)
        except StorageError as error:
            state.storage_failed(slot, error.message)
            raise
        except ClientDisconnect:
            # The client went away mid-body: nothing was stored and nobody reads the answer.
            return Response(status_code=499)
        # The request may have taken a while: re-check (e.g. session cancelled meanwhile).
        try:
            slot = state.storage_slot(segments)
            headers = state.storage_commit(slot, path, size, crc)
        except StorageError:
            path.unlink(missing_ok=True)
            raise
        return Response(status_code=200, headers=headers)

    def get_object(segments: list[str]) -> Response:
        if segments[0] == "assets" and len(segments) == 2:
            asset = state.asset_by_id(segments[1])
            if asset is None or not asset.blobs:
                raise StorageError(404, "NoSuchKey")
            return StreamingResponse(
                _read_chunks(list(asset.blobs)),
                media_type=asset.mime,
                headers={"Content-Length": str(sum(p.stat().st_size for p in asset.blobs))},
            )
        if segments[0] == "exports" and len(segments) == 2:
            export = state.store.exports.get(segments[1].removesuffix(".zip"))
            if export is None or export.blob is None:
                raise StorageError(404, "NoSuchKey")
            return StreamingResponse(
                _read_chunks([export.blob]),
                media_type="application/zip",
                headers={"Content-Length": str(export.blob.stat().st_size)},
            )
        raise StorageError(404, "NoSuchKey")

    async def storage(request: Request) -> Response:
        stats.requests["storage"] += 1
        stats.storage_requests += 1
        headers = request.headers
        stats.storage_header_names.update(headers.keys())
        path = request.scope["path"]
        query = {
            k: v
            for k, v in parse_query(request.scope["query_string"]).items()
            if isinstance(v, str)
        }
        error = ctx.signer.verify(request.method, path, query, headers, state.now())
        if error is not None:
            raise StorageError(403, error)
        segments = path.removeprefix("/_storage/").split("/")
        if request.method == "GET":
            return get_object(segments)
        return await put_object(request, segments)

    return [Route("/_storage/{path:path}", storage, methods=["GET", "PUT", "POST"], name="storage")]
