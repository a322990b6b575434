"""A FastAPI backend that shares one AsyncClient across requests.

    pip install "nexus-async[emulator]" fastapi uvicorn python-multipart
    python examples/fastapi_backend.py        # serves on http://127.0.0.1:8000 (see /docs)

    curl -F file=@boat.png http://127.0.0.1:8000/images
    curl -X POST 'http://127.0.0.1:8000/exports?format=coco'
    curl http://127.0.0.1:8000/exports/op_...

The client is made once in the app's lifespan (it pools connections and is safe to share
across tasks) and closed on shutdown. It reads NEXUS_SECRET_KEY, NEXUS_PROJECT_ID and
DATATURE_API_BASE_URL; without a key, running this file starts a local emulator first.

Each POST /images opens its own upload session: the API allows 15 session creations per
project in 5 minutes (the client waits when over), so batch images if you expect more.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse

from nexus_async import AsyncClient, InvalidInputError, NexusError, NotFoundError, Project


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncClient() as client:  # NEXUS_SECRET_KEY, DATATURE_API_BASE_URL
        project_id = os.environ.get("NEXUS_PROJECT_ID")
        app.state.client = client
        app.state.project = (
            client.get_project(project_id) if project_id else (await client.list_projects())[0]
        )
        yield


app = FastAPI(title="nexus_async example backend", lifespan=lifespan)


def project_of(request: Request) -> Project:
    project: Project = request.app.state.project
    return project


@app.exception_handler(NexusError)
async def nexus_error(request: Request, exc: NexusError) -> JSONResponse:
    """SDK errors become JSON: bad input 400, unknown ids 404, anything else 502."""
    status = 400 if isinstance(exc, InvalidInputError) else 502
    if isinstance(exc, NotFoundError):
        status = 404
    return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)


@app.post("/images", status_code=201)
async def upload_image(request: Request, file: UploadFile) -> dict[str, Any]:
    """Upload one image (multipart form field ``file``) and return the asset."""
    if not file.filename:
        raise HTTPException(400, "the upload needs a file name")
    project = project_of(request)
    data = await file.read()
    async with project.assets.create_upload_session(groups=["api"]) as session:
        await session.add_bytes(data, file.filename)  # checked and sent; waits for ingestion
    asset = await project.assets.get(file.filename)
    return {"asset_id": asset.id, "filename": asset.filename, "size": asset.metadata.file_size}


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


def main() -> None:
    import uvicorn

    if os.environ.get("NEXUS_SECRET_KEY"):
        uvicorn.run(app, host="127.0.0.1", port=8000)
        return
    from nexus_async.testing import EmulatorServer

    with EmulatorServer() as server:
        print(f"(no NEXUS_SECRET_KEY: using a local emulator at {server.base_url})")
        os.environ.update(
            NEXUS_SECRET_KEY=server.secret_key or "",
            DATATURE_API_BASE_URL=server.base_url,
            NEXUS_PROJECT_ID=server.project_id or "",
        )
        uvicorn.run(app, host="127.0.0.1", port=8000)


if __name__ == "__main__":
    main()
