"""Routes: annotations, exports and annotation import sessions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_async.emulator.blobs import SignedTarget
from nexus_async.emulator.routes import serialize
from nexus_async.emulator.routes.common import (
    Context,
    as_list,
    deleted,
    include_attributes,
    json_body,
    ok,
    page_query,
    query_of,
)
from nexus_async.emulator.state.models import JsonDict


def routes(ctx: Context) -> list[Route]:
    """Annotation, export and import-session routes."""
    state = ctx.state

    async def annotations_list(request: Request) -> Response:
        project = ctx.project(request)
        query = query_of(request)
        params = page_query(query)
        params["assetId"] = as_list(query, "assetId")
        attributes = include_attributes(query)
        result = state.list_annotations(project, params)
        items = [serialize.annotation(project, a, attributes) for a in result.items]
        return ok(serialize.page(result, items))

    async def annotation_create(request: Request) -> Response:
        project = ctx.project(request)
        annotation = state.create_annotation(project, await json_body(request))
        return ok(serialize.annotation(project, annotation, False))

    async def annotation_get(request: Request) -> Response:
        project = ctx.project(request)
        attributes = include_attributes(query_of(request))
        annotation = state.get_annotation(project, request.path_params["aid"])
        return ok(serialize.annotation(project, annotation, attributes))

    async def annotation_delete(request: Request) -> Response:
        project = ctx.project(request)
        return deleted(state.delete_annotation(project, request.path_params["aid"]))

    async def export_create(request: Request) -> Response:
        project = ctx.project(request)
        operation = state.create_export(project, await json_body(request))
        return ok(serialize.operation(state.view_operation(operation)))

    async def export_get(request: Request) -> Response:
        project = ctx.project(request)
        export = state.get_export(project, request.path_params["op"])
        view = state.view_operation(state.store.operations[export.id])
        body: JsonDict = {"opId": export.id, "status": view.overview}
        if view.overview == "Finished":
            expires = state.now() + state.config.download_url_ttl_ms
            target = SignedTarget("GET", f"/_storage/exports/{export.id}.zip", {}, expires)
            body["download"] = {
                "method": "GET",
                "url": ctx.signed_url(request, target),
                "expiryDate": expires,
            }
        return ok(body)

    async def import_session_create(request: Request) -> Response:
        project = ctx.project(request)
        session = state.create_import_session(project)
        return ok(serialize.import_session(state.view_import_session(session)))

    async def import_sessions_list(request: Request) -> Response:
        project = ctx.project(request)
        sessions = state.list_import_sessions(project)
        return ok([serialize.import_session(state.view_import_session(s)) for s in sessions])

    async def import_session_get(request: Request) -> Response:
        project = ctx.project(request)
        session = state.get_import_session(project, request.path_params["isid"])
        return ok(serialize.import_session(state.view_import_session(session)))

    async def import_session_update(request: Request) -> Response:
        project = ctx.project(request)
        body = await json_body(request)
        session = state.patch_import_session(project, request.path_params["isid"], body)
        return ok(serialize.import_session(state.view_import_session(session)))

    async def import_session_files(request: Request) -> Response:
        project = ctx.project(request)
        body = await json_body(request)
        session, files = state.add_import_files(project, request.path_params["isid"], body)
        return ok(
            {
                "id": session.id,
                "projectId": session.project_id,
                "files": [
                    {
                        "filename": file.filename,
                        "upload": serialize.signed_upload(ctx, request, target),
                    }
                    for file, target in files
                ],
            }
        )

    async def import_session_logs(request: Request) -> Response:
        project = ctx.project(request)
        session = state.get_import_session(project, request.path_params["isid"])
        logs = [
            {"timestamp": float(log.timestamp), "level": log.level, "message": log.message}
            for log in session.logs
        ]
        return ok({"id": session.id, "projectId": session.project_id, "logs": logs})

    annotations = "/projects/{pid}/annotations"
    imports = "/projects/{pid}/annotationimportsessions"
    return [
        ctx.route(annotations, "GET", "annotations_list", annotations_list),
        ctx.route(annotations, "POST", "annotation_create", annotation_create),
        ctx.route(annotations + "/{aid}", "GET", "annotation_get", annotation_get),
        ctx.route(annotations + "/{aid}", "DELETE", "annotation_delete", annotation_delete),
        ctx.route("/projects/{pid}/annotationexports", "POST", "export_create", export_create),
        ctx.route("/projects/{pid}/annotationexports/{op}", "GET", "export_get", export_get),
        ctx.route(imports, "POST", "import_session_create", import_session_create),
        ctx.route(imports, "GET", "import_sessions_list", import_sessions_list),
        ctx.route(imports + "/{isid}", "GET", "import_session_get", import_session_get),
        ctx.route(imports + "/{isid}", "PATCH", "import_session_update", import_session_update),
        ctx.route(imports + "/{isid}/files", "POST", "import_session_files", import_session_files),
        ctx.route(imports + "/{isid}/logs", "GET", "import_session_logs", import_session_logs),
    ]
