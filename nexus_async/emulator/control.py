"""Control plane under ``/_emulator/`` (not part of the Nexus API; no auth)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_async.emulator.core import Emulator
from nexus_async.emulator.routes.common import JSONResponse, json_body


def control_routes(emulator: Emulator) -> list[Route]:
    """``reset``, ``seed``, ``faults`` (POST adds, GET lists, DELETE clears), ``stats``,
    ``timing`` (POST changes the delays) and ``info`` (default key and ids)."""

    async def reset(request: Request) -> Response:
        return JSONResponse(emulator.reset())

    async def seed(request: Request) -> Response:
        return JSONResponse(emulator.seed(await json_body(request)))

    async def add_fault(request: Request) -> Response:
        return JSONResponse(emulator.add_fault(await json_body(request)))

    async def list_faults(request: Request) -> Response:
        return JSONResponse([rule.to_json() for rule in emulator.faults.rules])

    async def clear_faults(request: Request) -> Response:
        emulator.clear_faults()
        return JSONResponse({"cleared": True})

    async def stats(request: Request) -> Response:
        return JSONResponse(emulator.stats())

    async def timing(request: Request) -> Response:
        return JSONResponse(emulator.set_timing(await json_body(request)))

    async def info(request: Request) -> Response:
        return JSONResponse(emulator.default_ids())

    return [
        Route("/_emulator/reset", reset, methods=["POST"], name="control_reset"),
        Route("/_emulator/seed", seed, methods=["POST"], name="control_seed"),
        Route("/_emulator/faults", add_fault, methods=["POST"], name="control_fault_add"),
        Route("/_emulator/faults", list_faults, methods=["GET"], name="control_fault_list"),
        Route("/_emulator/faults", clear_faults, methods=["DELETE"], name="control_fault_clear"),
        Route("/_emulator/stats", stats, methods=["GET"], name="control_stats"),
        Route("/_emulator/timing", timing, methods=["POST"], name="control_timing"),
        Route("/_emulator/info", info, methods=["GET"], name="control_info"),
    ]
