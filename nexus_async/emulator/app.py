"""``create_app``: the Starlette application of the emulator."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from nexus_async.emulator.blobs import STORAGE_PREFIX
from nexus_async.emulator.clock import Clock
from nexus_async.emulator.config import EmulatorConfig
from nexus_async.emulator.control import control_routes
from nexus_async.emulator.core import Emulator
from nexus_async.emulator.errors import ApiError, StorageError
from nexus_async.emulator.faults import ConnectionDropped, FaultMiddleware
from nexus_async.emulator.routes import Context, api_routes
from nexus_async.emulator.routes.common import JSONResponse
from nexus_async.emulator.storage.asgi import StorageApp
from nexus_async.emulator.storage.local import LocalBackend
from nexus_async.emulator.storage.plane import StoragePlane

logger = logging.getLogger("nexus_async.emulator")

_HTTP_CODES = {
    404: ("ResourceNotFoundError", "Requested Resource Not Found"),
    405: ("MethodNotAllowedError", "Method Not Allowed"),
}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


async def _storage_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StorageError)
    return Response(exc.xml(), status_code=exc.status, media_type="application/xml")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("BadRequestError", str(exc.detail)))
    return JSONResponse({"code": code, "message": message}, status_code=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ConnectionDropped):  # dropped on purpose by a fault rule
        logger.error("unexpected emulator error", exc_info=exc)
    body = {"code": "InternalServerError", "message": "Internal Server Error"}
    return JSONResponse(body, status_code=500)


class EmulatorApp(Starlette):
    """The Starlette application, with ``/_storage/`` dispatched on its path prefix before any
    middleware or routing (the storage plane is raw ASGI: it is the hot path)."""

    storage: ASGIApp
    emulator: Emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Storage requests go to the storage plane, the rest to Starlette."""
        if scope["type"] == "http" and scope["path"].startswith(STORAGE_PREFIX):
            await self.storage(scope, receive, send)
            return
        self.emulator.sync_storage()
        await super().__call__(scope, receive, send)


def create_app(
    config: EmulatorConfig | None = None,
    *,
    clock: Clock | None = None,
    emulator: Emulator | None = None,
) -> Starlette:
    """Build the emulator application; its control object is ``app.state.emulator``."""
    emulator = emulator or Emulator(config, clock)
    routes = [*control_routes(emulator), *api_routes(Context(emulator))]
    app = EmulatorApp(
        routes=routes,
        middleware=[
            Middleware(
                FaultMiddleware,
                faults=emulator.faults,
                routes=routes,
                stats=emulator.counters,
            )
        ],
        exception_handlers={
            ApiError: _api_error,
            StorageError: _storage_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.emulator = app.emulator = emulator
    plane = StoragePlane(emulator.signer, LocalBackend(emulator.state, emulator.counters))
    app.storage = FaultMiddleware(
        StorageApp(plane), faults=emulator.faults, routes=[], stats=emulator.counters
    )
    return app
