"""A tiny HTTP/1.1 storage host on 127.0.0.1 for the engine tests (respx sees httpx only).

It records every request exactly as it came over the wire (request target byte for byte,
headers, body) and answers from a script: raw responses, a delay, or a dropped connection.
It reads bodies by ``Content-Length`` only, so a chunked request shows up as an empty body
with its ``Transfer-Encoding`` header.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field

__all__ = ["DROP", "Delay", "Origin", "Received", "reply"]


@dataclass
class Received:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@dataclass(frozen=True)
class Delay:
    seconds: float
    then: bytes


DROP = b""  # close the connection instead of answering


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} Status{status}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Origin:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    script: deque[bytes | Delay] = field(default_factory=deque)
    default: bytes | Delay = field(default_factory=lambda: reply(200, headers={"ETag": '"e"'}))
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def url(self, path_and_query: str) -> str:
        return f"http://127.0.0.1:{self.port}{path_and_query}"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request_line, *lines = head.rstrip("\r\n").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                headers = [tuple(line.split(": ", 1)) for line in lines]
                length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
                body = await reader.readexactly(length)
                self.received.append(Received(method, target, headers, body))  # type: ignore[arg-type]
                answer = self.script.popleft() if self.script else self.default
                if isinstance(answer, Delay):
                    await asyncio.sleep(answer.seconds)
                    answer = answer.then
                if answer == DROP:
                    writer.close()
                    return
                writer.write(answer)
                await writer.drain()

    def close_connections(self) -> None:
        for writer in self._writers:
            writer.close()
