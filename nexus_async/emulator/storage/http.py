"""A minimal HTTP/1.1 server for the storage plane: an asyncio ``Protocol`` parsing with
``httptools``, feeding each body chunk straight into the plane (no ASGI messages, no tasks).

Fault rules with ``route: "storage"`` apply as in the API process: the rule is picked when the
headers arrive; ``before`` with a status or a drop skips the handler (the body is read and
thrown away), latency delays the answer, ``after`` runs the upload and then answers the fault.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast
from urllib.parse import unquote

import httptools

from nexus_async.emulator.errors import StorageError
from nexus_async.emulator.faults import FaultRule, error_reply
from nexus_async.emulator.storage.plane import (
    Download,
    StoragePlane,
    StorageRequest,
    Upload,
    parse_storage_query,
)

FaultPicker = Callable[[str, str], FaultRule | None]
"""(method, path) -> the fault rule that triggers for this request, if any."""
Reply = tuple[int, list[tuple[bytes, bytes]], bytes]
DROP_HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 1048576\r\ncontent-type: application/json\r\n\r\n"
_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    412: b"Precondition Failed",
}


_OK_KEEP_ALIVE = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
"""The answer to almost every upload, encoded once."""


def _error(error: StorageError) -> Reply:
    body = error.xml().encode()
    return error.status, [(b"content-type", b"application/xml")], body


def _encode(reply: Reply, keep_alive: bool) -> bytes:
    status, headers, body = reply
    lines = [b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"Error"))]
    lines += [name + b": " + value for name, value in headers if name != b"content-length"]
    lines.append(b"content-length: %d" % len(body))
    if not keep_alive:
        lines.append(b"connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class StorageProtocol(asyncio.Protocol):
    """One client connection; requests are answered in order (no pipelining overlap)."""

    def __init__(
        self, plane: StoragePlane, pick_fault: FaultPicker, on_done: Callable[[], None]
    ) -> None:
        self._plane = plane
        self._pick_fault = pick_fault
        self._on_done = on_done
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._headers: dict[str, str] = {}
        self._upload: Upload | None = None
        self._reply: Reply | None = None
        self._rule: FaultRule | None = None
        self._path = ""

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self._transport = cast("asyncio.Transport", transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        """Parse; the callbacks below do the work."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._abort_upload()
            self._write(_encode(_error(StorageError(400, "InvalidRequest")), False))
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        """A body cut short stores nothing."""
        self._abort_upload()
        self._transport = None

    # -- httptools callbacks ---------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        """Accumulate the request target."""
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        """Collect headers with lower-case names."""
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        """Verify the request and start the transfer (or decide its fault)."""
        url = httptools.parse_url(self._url)
        path = url.path.decode("latin-1")
        self._path = path = unquote(path) if "%" in path else path
        method = self._parser.get_method().decode("ascii")
        rule = self._rule = self._pick_fault(method, self._path)
        if rule is not None and rule.when == "before" and (rule.drop or rule.status):
            return  # the handler does not run: the body is discarded
        query = parse_storage_query((url.query or b"").decode("latin-1"))
        request = StorageRequest(method, path, query, self._headers)
        try:
            transfer = self._plane.begin(request)
        except StorageError as error:
            self._reply = _error(error)
            return
        if isinstance(transfer, Download):  # workers serve no downloads
            self._reply = _error(StorageError(404, "NoSuchKey"))
            return
        self._upload = transfer

    def on_body(self, body: bytes) -> None:
        """Write one chunk of the body."""
        if self._upload is not None:
            self._upload.feed(body)

    def on_message_complete(self) -> None:
        """Finish the upload and answer (after the fault's latency, if any)."""
        upload, self._upload = self._upload, None
        reply = self._reply
        if upload is not None:
            try:
                headers = upload.finish()
                reply = (200, [(k.lower().encode(), v.encode()) for k, v in headers.items()], b"")
            except StorageError as error:
                reply = _error(error)
        keep_alive = self._parser.should_keep_alive()
        rule, path = self._rule, self._path
        self._on_done()
        self._reset()
        if rule is None:
            if keep_alive and (reply is None or reply == (200, [], b"")):
                self._write(_OK_KEEP_ALIVE)
                return
            self._write(_encode(reply or (200, [], b""), keep_alive))
            if not keep_alive:
                self._close()
            return
        self._faulted(rule, path, reply, keep_alive)

    # -- helpers ---------------------------------------------------------------------

    def _faulted(self, rule: FaultRule, path: str, reply: Reply | None, keep_alive: bool) -> None:
        """Answer a request a fault rule triggered on."""
        if rule.drop:
            answer, keep_alive = DROP_HEAD, False
        elif rule.status is not None:
            answer = _encode(error_reply(rule, path), keep_alive)
        else:
            answer = _encode(reply or (200, [], b""), keep_alive)
        delay = 0.0
        if rule.latency_ms is not None:
            delay = rule.rng.uniform(*rule.latency_ms) / 1000.0
        if self._transport is not None:
            self._transport.pause_reading()

        def send() -> None:
            self._write(answer)
            if keep_alive and self._transport is not None:
                self._transport.resume_reading()
            else:
                self._close()

        asyncio.get_running_loop().call_later(delay, send)

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _abort_upload(self) -> None:
        if self._upload is not None:
            self._upload.abort()
            self._upload = None
