"""Starlette route handlers: HTTP parsing and serialising only (rules live in ``state``)."""

from __future__ import annotations

from starlette.routing import Route

from nexus_async.emulator.routes import annotation, assets, datasets, projects, uploads
from nexus_async.emulator.routes.common import Context


def api_routes(ctx: Context) -> list[Route]:
    """Every Nexus API route (the storage plane is served before routing, see ``app``)."""
    return [
        *projects.routes(ctx),
        *assets.routes(ctx),
        *uploads.routes(ctx),
        *annotation.routes(ctx),
        *datasets.routes(ctx),
    ]


__all__ = ["Context", "api_routes"]
