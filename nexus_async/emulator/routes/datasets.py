"""Routes: batch datasets."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_async.emulator.routes import serialize
from nexus_async.emulator.routes.common import (
    Context,
    deleted,
    json_body,
    ok,
    page_query,
    query_of,
)


def routes(ctx: Context) -> list[Route]:
    """Batch dataset routes."""
    state = ctx.state

    async def dataset_create(request: Request) -> Response:
        project = ctx.project(request)
        dataset = state.create_dataset(project, await json_body(request))
        return ok(serialize.dataset(ctx, request, state.view_dataset(dataset)))

    async def datasets_list(request: Request) -> Response:
        project = ctx.project(request)
        result = state.list_datasets(project, page_query(query_of(request)))
        items = [serialize.dataset(ctx, request, state.view_dataset(d)) for d in result.items]
        return ok(serialize.page(result, items))

    async def dataset_get(request: Request) -> Response:
        project = ctx.project(request)
        dataset = state.get_dataset(project, request.path_params["did"])
        return ok(serialize.dataset(ctx, request, state.view_dataset(dataset)))

    async def dataset_delete(request: Request) -> Response:
        project = ctx.project(request)
        return deleted(state.delete_dataset(project, request.path_params["did"]))

    base = "/projects/{pid}/batch/datasets"
    return [
        ctx.route(base, "POST", "dataset_create", dataset_create),
        ctx.route(base, "GET", "datasets_list", datasets_list),
        ctx.route(base + "/{did}", "GET", "dataset_get", dataset_get),
        ctx.route(base + "/{did}", "DELETE", "dataset_delete", dataset_delete),
    ]
