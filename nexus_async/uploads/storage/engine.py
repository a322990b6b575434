"""The seam between :class:`~nexus_async.uploads.StorageClient` and an HTTP library.

A storage engine sends one request to a signed URL and hands back the status, the headers and
the body (read whole, or streamed). It knows nothing of retries, redaction, error messages,
``Content-Length`` rules or checksums: :class:`StorageClient` owns those, the same for every
engine. Two engines ship: ``"aiohttp"`` (asyncio only; the least client CPU per transfer,
``benchmarks/STORAGE_ENGINES.md``) and ``"httpx"`` (any anyio backend, trio included).

``"auto"`` picks aiohttp when the running event loop is asyncio and aiohttp is installed, httpx
otherwise. A custom engine is any object with :class:`StorageEngine`'s two methods, or a
factory that builds one from :class:`EngineOptions`.

Example::

    async with AsyncClient(key, storage_engine="httpx") as client:  # every transfer on httpx
        ...
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import ssl
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Literal, Protocol, TypeVar

import anyio.to_thread
import sniffio

from nexus_async._exceptions import ConfigurationError

__all__ = [
    "EngineChoice",
    "EngineOptions",
    "EngineResponse",
    "StorageEngine",
    "TransferFailure",
    "build_engine",
    "engine_name",
    "import_engine",
    "read_unless_streamed",
]

RequestBody = bytes | AsyncIterable[bytes] | None
FailureKind = Literal["connect", "timeout", "pool", "unsupported", "broken"]


class TransferFailure(Exception):
    """An attempt that got no (complete) response; an engine raises it for its library's own
    transport errors.

    ``kind``: ``"connect"`` (the connection could not be opened), ``"timeout"``, ``"pool"`` (no
    free connection in time), ``"unsupported"`` (the URL cannot be sent at all) or ``"broken"``
    (the connection failed mid-way). ``detail`` may contain the URL: it is scrubbed before
    anyone sees it. ``pool_size`` is the size of the pool that had no free connection.
    """

    def __init__(self, kind: FailureKind, detail: str, *, pool_size: int | None = None) -> None:
        super().__init__(kind, detail)
        self.kind: FailureKind = kind
        self.detail = detail
        self.pool_size = pool_size


class EngineResponse(Protocol):
    """A response from a storage host. ``headers`` looks names up case-insensitively."""

    @property
    def status(self) -> int: ...

    @property
    def reason(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def header_values(self, name: str) -> list[str]:
        """Every value of a header, comma-separated lists split."""
        ...

    async def read(self) -> bytes:
        """The whole body (already read unless the request was streamed)."""
        ...

    def iter_bytes(self, chunk_size: int) -> AsyncIterator[bytes]:
        """The body of a streamed response, at most ``chunk_size`` bytes at a time."""
        ...

    async def aclose(self) -> None:
        """Give the connection back (or close it when the body was not read to its end)."""
        ...


class StorageEngine(Protocol):
    """Sends requests to signed storage URLs (see the module docstring)."""

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: RequestBody,
        *,
        stream: bool = False,
    ) -> EngineResponse:
        """Send one request exactly as given (the URL byte for byte, the headers as they are,
        an async-iterable body without chunked encoding: ``headers`` carries its
        ``Content-Length``). Unless ``stream``, the body is read and the connection released
        before this returns. Raises :class:`TransferFailure` when no response came back."""
        ...

    async def aclose(self) -> None:
        """Close every connection."""
        ...


ResponseT = TypeVar("ResponseT", bound=EngineResponse)


async def read_unless_streamed(response: ResponseT, stream: bool) -> ResponseT:
    """``response``, its body read and its connection released unless ``stream``: what
    :meth:`StorageEngine.send` returns."""
    if not stream:
        try:
            await response.read()
        finally:
            await response.aclose()
    return response


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """What a :class:`StorageClient` asks of the engine it builds."""

    max_connections: int
    connections_per_client: int
    connect_timeout: float
    read_timeout: float
    pool_timeout: float
    ssl_context: ssl.SSLContext | None = None


EngineFactory = Callable[[EngineOptions], StorageEngine]
EngineChoice = Literal["auto", "aiohttp", "httpx"] | StorageEngine | EngineFactory
ENGINE_NAMES = ("auto", "aiohttp", "httpx")


def aiohttp_available() -> bool:
    """Whether the aiohttp engine can run here: aiohttp is installed and the loop is asyncio."""
    try:
        on_asyncio = sniffio.current_async_library() == "asyncio"
    except sniffio.AsyncLibraryNotFoundError:
        return False
    return on_asyncio and importlib.util.find_spec("aiohttp") is not None


def check_choice(choice: EngineChoice) -> None:
    """Refuse an engine name that does not exist (before any I/O)."""
    if isinstance(choice, str) and choice not in ENGINE_NAMES:
        raise ConfigurationError(
            f"storage_engine must be one of {', '.join(ENGINE_NAMES)}, an engine or a factory; "
            f"got {choice!r}"
        )


def engine_name(choice: str) -> str:
    """The engine ``choice`` names in the running event loop (``"auto"`` resolved)."""
    return ("aiohttp" if aiohttp_available() else "httpx") if choice == "auto" else choice


async def import_engine(name: str) -> None:
    """Import the module of the engine called ``name`` in a worker thread, if not yet done
    (importing aiohttp takes 0.2-0.8 s: the event loop must not stall that long on a
    service's first upload). A missing library is reported by :func:`build_engine`."""
    module = f"nexus_async.uploads.storage.{name}_engine"
    if module not in sys.modules:
        with contextlib.suppress(ImportError):
            await anyio.to_thread.run_sync(importlib.import_module, module)


def build_engine(choice: str | EngineFactory, options: EngineOptions) -> StorageEngine:
    """The engine named by ``choice`` (or built by it), for the running event loop."""
    if callable(choice):
        return choice(options)
    choice = engine_name(choice)
    if choice == "aiohttp":
        if sniffio.current_async_library() != "asyncio":
            raise ConfigurationError("the aiohttp storage engine runs on asyncio only")
        try:
            from nexus_async.uploads.storage.aiohttp_engine import AiohttpEngine
        except ImportError as exc:
            raise ConfigurationError(
                f"the aiohttp storage engine needs aiohttp: pip install aiohttp ({exc})"
            ) from exc

        return AiohttpEngine(options)
    from nexus_async.uploads.storage.httpx_engine import HttpxEngine

    return HttpxEngine(options)
