"""Routes: upload sessions, multipart uploads and operations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_async.emulator.errors import bad_request
from nexus_async.emulator.routes import serialize
from nexus_async.emulator.routes.common import Context, json_body, ok, ok_json_text


def _part_number(request: Request) -> int:
    raw = request.path_params["part"]
    if not raw.isdigit():
        raise bad_request("partNumber must be a positive integer")
    return int(raw)


def routes(ctx: Context) -> list[Route]:
    """Upload-session, multipart and operation routes."""
    state = ctx.state

    async def upload_session_create(request: Request) -> Response:
        project = ctx.project(request)
        session = state.create_upload_session(project, await json_body(request))
        return ok_json_text(serialize.upload_session(ctx, request, session))

    async def upload_session_cancel(request: Request) -> Response:
        project = ctx.project(request)
        return ok(
            {
                "cancelled": True,
                "id": state.cancel_upload_session(project, request.path_params["sid"]),
            }
        )

    async def multipart_create(request: Request) -> Response:
        project = ctx.project(request)
        body = await json_body(request)
        upload = state.create_multipart(project, request.path_params["sid"], body)
        return ok({"id": upload.id, "object": "multipart_upload", "partCount": upload.part_count})

    async def multipart_part_url(request: Request) -> Response:
        project = ctx.project(request)
        target = state.part_target(project, request.path_params["mpu"], _part_number(request))
        return ok(
            {
                "method": target.method,
                "url": ctx.signed_url(request, target),
                "expiry": target.expires_ms,
                "responseHeaders": ["ETag"],
                "responseBody": False,
                "headers": dict(target.headers),
            }
        )

    async def multipart_part_complete(request: Request) -> Response:
        project = ctx.project(request)
        number = _part_number(request)
        body = await json_body(request)
        mpu = request.path_params["mpu"]
        completed = state.complete_part(project, mpu, number, body)
        return ok({"id": mpu, "partNumber": number, "completed": completed})

    async def multipart_complete(request: Request) -> Response:
        project = ctx.project(request)
        upload = state.complete_multipart(project, request.path_params["mpu"])
        return ok({"id": upload.id, "completed": True})

    async def multipart_abort(request: Request) -> Response:
        project = ctx.project(request)
        return ok(
            {"id": state.abort_multipart(project, request.path_params["mpu"]), "aborted": True}
        )

    async def operation_get(request: Request) -> Response:
        project = ctx.project(request)
        operation = state.get_operation(project, request.path_params["op"])
        return ok(serialize.operation(state.view_operation(operation)))

    sessions = "/projects/{pid}/assetuploadsessions"
    mpu = "/projects/{pid}/multipartassetuploads/{mpu}"
    return [
        ctx.route(sessions, "POST", "upload_session_create", upload_session_create),
        ctx.route(
            sessions + "/{sid}:cancel", "POST", "upload_session_cancel", upload_session_cancel
        ),
        ctx.route(sessions + "/{sid}/multipart", "POST", "multipart_create", multipart_create),
        ctx.route(mpu + "/parts/{part}", "PUT", "multipart_part_url", multipart_part_url),
        ctx.route(
            mpu + "/parts/{part}/complete",
            "POST",
            "multipart_part_complete",
            multipart_part_complete,
        ),
        ctx.route(mpu + "/complete", "POST", "multipart_complete", multipart_complete),
        ctx.route(mpu, "DELETE", "multipart_abort", multipart_abort),
        ctx.route("/projects/{pid}/operations/{op}", "GET", "operation_get", operation_get),
    ]
