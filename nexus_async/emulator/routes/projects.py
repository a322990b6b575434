"""Routes: workspace, projects and workflows."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_async.emulator.routes import serialize
from nexus_async.emulator.routes.common import Context, deleted, json_body, ok


def routes(ctx: Context) -> list[Route]:
    """Workspace, project and workflow routes."""
    state = ctx.state

    async def workspace_get(request: Request) -> Response:
        return ok(serialize.workspace(state.workspace_for_key(request.headers.get("secret-key"))))

    async def workspace_projects(request: Request) -> Response:
        projects = state.list_projects(request.headers.get("secret-key"))
        return ok([serialize.project(ctx, p) for p in projects])

    async def project_get(request: Request) -> Response:
        return ok(serialize.project(ctx, ctx.project(request)))

    async def project_update(request: Request) -> Response:
        project = ctx.project(request)
        return ok(serialize.project(ctx, state.update_project(project, await json_body(request))))

    async def workflows_list(request: Request) -> Response:
        project = ctx.project(request)
        return ok([serialize.workflow(w) for w in project.workflows.values()])

    async def workflow_get(request: Request) -> Response:
        project = ctx.project(request)
        return ok(serialize.workflow(state.get_workflow(project, request.path_params["fid"])))

    async def workflow_update(request: Request) -> Response:
        project = ctx.project(request)
        body = await json_body(request)
        return ok(
            serialize.workflow(state.update_workflow(project, request.path_params["fid"], body))
        )

    async def workflow_delete(request: Request) -> Response:
        project = ctx.project(request)
        return deleted(state.delete_workflow(project, request.path_params["fid"]))

    flow = "/projects/{pid}/workflows/{fid}"
    return [
        ctx.route("/workspace", "GET", "workspace_get", workspace_get),
        ctx.route("/workspace/projects", "GET", "workspace_projects", workspace_projects),
        ctx.route("/projects/{pid}", "GET", "project_get", project_get),
        ctx.route("/projects/{pid}", "PATCH", "project_update", project_update),
        ctx.route("/projects/{pid}/workflows", "GET", "workflows_list", workflows_list),
        ctx.route(flow, "GET", "workflow_get", workflow_get),
        ctx.route(flow, "PATCH", "workflow_update", workflow_update),
        ctx.route(flow, "DELETE", "workflow_delete", workflow_delete),
    ]
