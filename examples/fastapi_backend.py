"""A FastAPI backend: one AsyncClient and one uploader for the whole process.

    pip install "nexus-async[emulator]" fastapi uvicorn python-multipart
    python examples/fastapi_backend.py        # serves on http://127.0.0.1:8000 (see /docs)
    uvicorn examples.fastapi_backend:app      # the same app, e.g. behind a process manager

    curl -F file=@boat.png http://127.0.0.1:8000/images
    curl -X POST 'http://127.0.0.1:8000/exports?format=coco'
    curl http://127.0.0.1:8000/exports/op_...

The client reads NEXUS_SECRET_KEY, NEXUS_PROJECT_ID and DATATURE_API_BASE_URL; without a key,
``python examples/fastapi_backend.py`` starts a local emulator first.

Why one uploader. The API allows 15 upload-session creations per project in any 300 s. A
session per request would meet that limit at the 16th image. The lifespan opens ONE
``project.assets.create_uploader()`` shared by every request: concurrent ``POST /images`` are
coalesced into shared sessions, spaced 21 s apart, so sustained traffic stays inside the limit.
Each request still gets its own answer: it returns once ITS file is stored and ingested (201),
or fails alone. The price is latency: a file waits at most ``max_delay`` (21 s by default,
NEXUS_UPLOAD_MAX_DELAY) for its batch to be sent; a quiet service sends it after ~50 ms.

At the limit. A batch (at most 500 files or 256 MiB) leaves at its slot of the 21 s pace, or
after ``max_delay`` if that is shorter; with ``max_delay`` below the pace, or more than 500
files per 21 s, a burst can ask for a 16th session within 300 s. The uploader does not wait
for it (a web request should not hang for minutes): the files of that batch fail with
RateLimitError and their requests get 429 with ``Retry-After`` (NEXUS_UPLOAD_ON_RATE_LIMIT=wait
makes them wait instead). The server's own 429 (e.g. another process creating sessions in the
same project) is answered the same way. Past 2000 files in flight, further requests wait for
room.

Timeouts. API calls time out (connect 10 s, read 60 s) and a call that finds no free pooled
connection within 30 s fails with PoolTimeoutError; ingestion is awaited at most
NEXUS_UPLOAD_TIMEOUT s (120). A timeout answers 504, another failed upload 502, bad input
(not an image, bad name) 400, an unknown id 404.

Shutdown (SIGTERM). uvicorn stops accepting connections and lets the requests in flight finish.
They wait for their batch, so give them more than ``max_delay``: ``main()`` allows
NEXUS_SHUTDOWN_TIMEOUT (30 s); the ``uvicorn`` command waits for them without limit unless
given ``--timeout-graceful-shutdown``. Requests still running after that grace are cancelled
(uvicorn answers them 500) and their files leave the batches not sent yet. Then the lifespan
closes the uploader, which finishes the batches already sent, for at most
NEXUS_SHUTDOWN_TIMEOUT s more; past that it stops them and cancels their server sessions, so
no session is left open. Finally the client closes its connections.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import math
import os
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

import anyio
import uvicorn
from fastapi import FastAPI, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse

from nexus_async import (
    AssetUploader,
    AsyncClient,
    ConfigurationError,
    InvalidInputError,
    NexusError,
    NotFoundError,
    Project,
    RateLimitError,
    UploadError,
)

logger = logging.getLogger("fastapi_backend")

UPLOAD_GROUPS = ["api"]
RATE_LIMIT_FALLBACK_WAIT = 21  # Retry-After (s) when a 429 did not say: one session slot
OnRateLimit = Literal["raise", "wait"]


def _env_seconds(name: str) -> float | None:
    """``$name`` as seconds >= 0; None when unset."""
    raw = os.environ.get(name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"${name} must be a number of seconds >= 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """The backend's tuning, from the environment (read when the app starts)."""

    max_delay: float | None = None  # None: the uploader's default (21 s, the session pace)
    upload_timeout: float = 120.0
    on_rate_limit: OnRateLimit = "raise"
    shutdown_timeout: float = 30.0

    @classmethod
    def from_env(cls) -> Settings:
        on_rate_limit = os.environ.get("NEXUS_UPLOAD_ON_RATE_LIMIT") or "raise"
        if on_rate_limit not in ("raise", "wait"):
            raise ConfigurationError(
                f'$NEXUS_UPLOAD_ON_RATE_LIMIT must be "raise" or "wait", got {on_rate_limit!r}'
            )
        upload_timeout = _env_seconds("NEXUS_UPLOAD_TIMEOUT")
        shutdown_timeout = _env_seconds("NEXUS_SHUTDOWN_TIMEOUT")
        return cls(
            max_delay=_env_seconds("NEXUS_UPLOAD_MAX_DELAY"),
            upload_timeout=cls.upload_timeout if upload_timeout is None else upload_timeout,
            on_rate_limit=cast(OnRateLimit, on_rate_limit),
            shutdown_timeout=cls.shutdown_timeout if shutdown_timeout is None else shutdown_timeout,
        )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = Settings.from_env()
    async with AsyncClient() as client:  # NEXUS_SECRET_KEY, DATATURE_API_BASE_URL
        project_id = os.environ.get("NEXUS_PROJECT_ID")
        project = (
            client.get_project(project_id) if project_id else (await client.list_projects())[0]
        )
        create = functools.partial(
            project.assets.create_uploader,
            groups=UPLOAD_GROUPS,
            on_rate_limit=settings.on_rate_limit,
            timeout=settings.upload_timeout,
        )
        uploader = create() if settings.max_delay is None else create(max_delay=settings.max_delay)
        # The shutdown budget of the uploader: set once the server stopped serving requests.
        with anyio.CancelScope() as drain:
            async with uploader:  # checks the project; closing sends and awaits what is pending
                app.state.settings = settings
                app.state.client = client
                app.state.project = project
                app.state.uploader = uploader
                yield
                drain.deadline = anyio.current_time() + settings.shutdown_timeout
        if drain.cancelled_caught:
            logger.warning(
                "uploads still running %.0f s after shutdown were stopped "
                "(their upload sessions were cancelled)",
                settings.shutdown_timeout,
            )


app = FastAPI(title="nexus_async example backend", lifespan=lifespan)


def project_of(request: Request) -> Project:
    project: Project = request.app.state.project
    return project


def uploader_of(request: Request) -> AssetUploader:
    uploader: AssetUploader = request.app.state.uploader
    return uploader


def _cause(exc: NexusError) -> BaseException:
    """What went wrong: for an uploader's UploadError, the cause of its one file."""
    if isinstance(exc, UploadError) and len(exc.failed) == 1:
        return exc.failed[0].cause
    return exc


@app.exception_handler(NexusError)
async def nexus_error(request: Request, exc: NexusError) -> JSONResponse:
    """SDK errors become JSON: bad input 400, unknown ids 404, the upload-session limit 429
    (with Retry-After), timeouts 504, anything else 502."""
    cause = _cause(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidInputError):
        status = 400
    elif isinstance(exc, NotFoundError):
        status = 404
    elif isinstance(cause, RateLimitError):
        status = 429
        wait = cause.retry_after if cause.retry_after is not None else RATE_LIMIT_FALLBACK_WAIT
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    elif isinstance(cause, TimeoutError):  # API, pool or ingestion timeout
        status = 504
    else:
        status = 502
    body = {"error": type(exc).__name__, "detail": str(exc)}
    return JSONResponse(body, status_code=status, headers=headers)


@app.post("/images", status_code=201)
async def upload_image(request: Request, file: UploadFile) -> dict[str, Any]:
    """Upload one image (multipart form field ``file``); answer once it is stored and ingested.

    Concurrent requests share upload sessions (see the module docstring), so this can take up
    to ``max_delay`` seconds plus the transfer.
    """
    if not file.filename:
        raise HTTPException(400, "the upload needs a file name")
    data = await file.read()
    stored = await uploader_of(request).upload_bytes(data, file.filename)
    return {
        "filename": stored.filename,
        "size": stored.size,
        "session_id": stored.session_id,
        "operation_id": stored.operation_id,
    }


@app.post("/exports", status_code=202)
async def start_export(request: Request, format: str = "coco") -> dict[str, Any]:
    """Start an export in the background and return its operation id."""
    project = project_of(request)
    op = await project.annotations.create_export(
        {"format": format, "options": {"split_ratio": 0.0, "seed": 1337}}, background=True
    )
    return {"op_id": op.id, "status": op.status.overview}


@app.get("/exports/{op_id}")
async def export_progress(request: Request, op_id: str) -> dict[str, Any]:
    """Where an export stands; once Finished, its signed download URL."""
    project = project_of(request)
    op = await project.operations.get(op_id)
    counts = op.status.progress.with_status
    answer: dict[str, Any] = {
        "op_id": op.id,
        "status": op.status.overview,
        "progress": {
            "finished": counts.Finished,
            "running": counts.Running,
            "queued": counts.Queued,
        },
        "download_url": None,
    }
    if op.status.overview == "Finished":
        export = await project.annotations.get_export(op_id)
        answer["download_url"] = export.download.url if export.download else None
    return answer


class Server(uvicorn.Server):
    """uvicorn, except that a SIGTERM/SIGINT it shut down for cleanly ends the process with
    status 0 (uvicorn re-raises the signal after its graceful shutdown, so the process would
    report that it was killed by it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        stops = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def serve(host: str, port: int) -> None:
    """Serve ``app`` until SIGTERM/SIGINT, with the shutdown grace of the module docstring."""
    grace = Settings.from_env().shutdown_timeout
    config = uvicorn.Config(app, host=host, port=port, timeout_graceful_shutdown=math.ceil(grace))
    Server(config).run()


def main() -> None:
    parser = argparse.ArgumentParser(description="The nexus_async FastAPI example backend.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    if os.environ.get("NEXUS_SECRET_KEY"):
        serve(args.host, args.port)
        return
    from nexus_async.testing import EmulatorServer

    with EmulatorServer() as server:
        print(f"(no NEXUS_SECRET_KEY: using a local emulator at {server.base_url})")
        os.environ.update(
            NEXUS_SECRET_KEY=server.secret_key or "",
            DATATURE_API_BASE_URL=server.base_url,
            NEXUS_PROJECT_ID=server.project_id or "",
        )
        serve(args.host, args.port)


if __name__ == "__main__":
    main()
