"""Routes: assets, asset groups and custom metadata."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_async.emulator.routes import serialize
from nexus_async.emulator.routes.common import (
    Context,
    as_list,
    deleted,
    json_body,
    ok,
    page_query,
    query_of,
    single,
)


def routes(ctx: Context) -> list[Route]:
    """Asset, asset-group and custom-metadata routes."""
    state = ctx.state

    async def assets_list(request: Request) -> Response:
        project = ctx.project(request)
        query = query_of(request)
        params = page_query(query)
        params.update(
            group=as_list(query, "group"),
            filename=single(query, "filename"),
            status=single(query, "status"),
            filter=single(query, "filter"),
            metadataQuery=single(query, "metadataQuery"),
        )
        result = state.list_assets(project, params)
        items = [serialize.asset(ctx, request, project, a) for a in result.items]
        return ok(serialize.page(result, items))

    async def asset_get(request: Request) -> Response:
        project = ctx.project(request)
        asset = state.find_asset(project, request.path_params["asset"])
        return ok(serialize.asset(ctx, request, project, asset))

    async def asset_update(request: Request) -> Response:
        project = ctx.project(request)
        body = await json_body(request)
        asset = state.update_asset(project, request.path_params["asset"], body)
        return ok(serialize.asset(ctx, request, project, asset))

    async def asset_delete(request: Request) -> Response:
        project = ctx.project(request)
        return deleted(state.delete_asset(project, request.path_params["asset"]))

    async def asset_groups(request: Request) -> Response:
        project = ctx.project(request)
        return ok(state.group_statistics(project, as_list(query_of(request), "group")))

    async def custom_metadata_list(request: Request) -> Response:
        project = ctx.project(request)
        asset = state.find_asset(project, request.path_params["asset"])
        records = [serialize.custom_metadata(project, asset, r) for r in asset.custom_metadata]
        return ok({"customMetadatas": records})

    async def custom_metadata_put(request: Request) -> Response:
        project = ctx.project(request)
        body = await json_body(request)
        asset, record = state.put_custom_metadata(project, request.path_params["asset"], body)
        return ok(serialize.custom_metadata(project, asset, record))

    async def custom_metadata_delete(request: Request) -> Response:
        project = ctx.project(request)
        params = request.path_params
        return deleted(state.delete_custom_metadata(project, params["asset"], params["cmid"]))

    async def custom_metadata_bulk_update(request: Request) -> Response:
        project = ctx.project(request)
        written, errors = state.bulk_update_custom_metadata(project, await json_body(request))
        return ok(
            {
                "errors": [
                    {
                        "customMetadata": {
                            "parent": entry.get("parent", {}),
                            "customMetadata": entry.get("customMetadata", {}),
                        },
                        "error": message,
                    }
                    for entry, message in errors
                ],
                "customMetadatas": [
                    serialize.custom_metadata(project, asset, record) for asset, record in written
                ],
            }
        )

    async def custom_metadata_bulk_delete(request: Request) -> Response:
        project = ctx.project(request)
        missing = state.bulk_delete_custom_metadata(project, await json_body(request))
        return ok({"errors": [{"id": i, "error": "Custom metadata not found"} for i in missing]})

    asset = "/projects/{pid}/assets/{asset}"
    bulk = "/projects/{pid}/customMetadataBulkUpdates"
    return [
        ctx.route("/projects/{pid}/assets", "GET", "assets_list", assets_list),
        ctx.route(asset, "GET", "asset_get", asset_get),
        ctx.route(asset, "PATCH", "asset_update", asset_update),
        ctx.route(asset, "DELETE", "asset_delete", asset_delete),
        ctx.route("/projects/{pid}/assetgroups", "GET", "asset_groups", asset_groups),
        ctx.route(asset + "/customMetadatas", "GET", "custom_metadata_list", custom_metadata_list),
        ctx.route(asset + "/customMetadatas", "PUT", "custom_metadata_put", custom_metadata_put),
        ctx.route(
            asset + "/customMetadatas/{cmid}",
            "DELETE",
            "custom_metadata_delete",
            custom_metadata_delete,
        ),
        ctx.route(bulk, "POST", "custom_metadata_bulk_update", custom_metadata_bulk_update),
        ctx.route(
            bulk + "/delete", "POST", "custom_metadata_bulk_delete", custom_metadata_bulk_delete
        ),
    ]
