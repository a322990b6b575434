"""``create_app``: the Starlette application of the emulator."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from nexus_async.emulator.clock import Clock
from nexus_async.emulator.config import EmulatorConfig
from nexus_async.emulator.control import control_routes
from nexus_async.emulator.core import Emulator
from nexus_async.emulator.errors import ApiError, StorageError
from nexus_async.emulator.faults import ConnectionDropped, FaultMiddleware
from nexus_async.emulator.routes import Context, api_routes
from nexus_async.emulator.routes.common import JSONResponse

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


def create_app(
    config: EmulatorConfig | None = None,
    *,
    clock: Clock | None = None,
    emulator: Emulator | None = None,
) -> Starlette:
    """Build the emulator application; its control object is ``app.state.emulator``."""
    emulator = emulator or Emulator(config, clock)
    routes = [*control_routes(emulator), *api_routes(Context(emulator))]
    app = Starlette(
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
    app.state.emulator = emulator
    return app
