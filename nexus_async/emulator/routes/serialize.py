"""Wire representations (nexus-api.md field tables and Appendix A) of state objects."""

from __future__ import annotations

import json

from starlette.requests import Request

from nexus_async.emulator.blobs import SignedTarget
from nexus_async.emulator.routes.common import INGEST_PREFIX, Context
from nexus_async.emulator.state import Page
from nexus_async.emulator.state.datasets import SOURCE_KIND, DatasetView
from nexus_async.emulator.state.imports import ImportView
from nexus_async.emulator.state.models import (
    Annotation,
    Asset,
    CustomMetadataRecord,
    JsonDict,
    Project,
    UploadSession,
    Workflow,
    Workspace,
)
from nexus_async.emulator.state.operations import OperationView


def workspace(ws: Workspace) -> JsonDict:
    """``Workspace``."""
    return {
        "id": ws.id,
        "object": "workspace",
        "name": ws.name,
        "owner": ws.owner,
        "tier": ws.tier,
        "createDate": ws.create_date,
    }


def project(ctx: Context, proj: Project) -> JsonDict:
    """``Project`` (always with ``statistic``)."""
    return {
        "id": proj.id,
        "object": "project",
        "name": proj.name,
        "workspaceId": proj.workspace_id,
        "type": proj.type,
        "createDate": proj.create_date,
        "localization": proj.localization,
        "tags": list(proj.tags),
        "groups": list(proj.groups),
        "statistic": ctx.state.project_statistic(proj),
    }


def asset(ctx: Context, request: Request, proj: Project, item: Asset) -> JsonDict:
    """``Asset`` with a signed GET ``url`` of its bytes (``""`` when it has none)."""
    url = ""
    if item.blobs:
        target = SignedTarget(
            "GET",
            f"/_storage/assets/{item.id}",
            {},
            ctx.state.now() + ctx.state.config.download_url_ttl_ms,
        )
        url = ctx.signed_url(request, target)
    return {
        "id": item.id,
        "object": "asset",
        "projectId": item.project_id,
        "filename": item.filename,
        "status": item.status,
        "createDate": item.create_date,
        "url": url,
        "metadata": {
            "fileSize": item.size,
            "mimeType": item.mime,
            "height": item.height,
            "width": item.width,
            "groups": list(item.groups),
            "customMetadata": item.merged_metadata(),
        },
        "statistic": ctx.state.asset_statistic(proj, item),
    }


def page(page_: Page, items: list[JsonDict]) -> JsonDict:
    """The pagination envelope (``data`` always present)."""
    return {"nextPage": page_.next_page, "prevPage": page_.prev_page, "data": items}


def annotation(proj: Project, item: Annotation, with_attributes: bool) -> JsonDict:
    """``Annotation``: absent-only fields are omitted, never null."""
    body: JsonDict = {
        "id": item.id,
        "object": "annotation",
        "projectId": item.project_id,
        "assetId": item.asset_id,
        "tag": item.tag,
        "boundType": item.bound_type,
        "bound": item.bound,
        "createDate": item.create_date,
    }
    if item.frame is not None:
        body["frame"] = item.frame
    if item.aggregation is not None:
        body["aggregation"] = item.aggregation
    if with_attributes:
        ontology = proj.tags.get(item.tag)
        if ontology is not None:
            body["ontologyId"] = ontology
        body["attributes"] = item.attributes or []
    return body


def operation(view: OperationView) -> JsonDict:
    """``Operation`` with all five counters."""
    op = view.operation
    return {
        "id": op.id,
        "object": "operation",
        "kind": op.kind,
        "status": {
            "overview": view.overview,
            "message": view.message,
            "progress": {"unit": op.unit, "withStatus": view.counts},
        },
        "createDate": op.created_at,
        "updateDate": view.update_date,
    }


def signed_upload(ctx: Context, request: Request, target: SignedTarget) -> JsonDict:
    """The ``upload`` object of upload sessions and import files."""
    return {
        "method": target.method,
        "url": ctx.signed_url(request, target),
        "headers": dict(target.headers),
        "expiryDate": target.expires_ms,
    }


def upload_session(ctx: Context, request: Request, session: UploadSession) -> bytes:
    """``UploadSession`` as compact JSON text: items in request order, each with its signed
    upload. Written directly (the same text ``ok`` would render from the equivalent dict), as
    creating a session of thousands of items is dominated by this per-item work."""
    dumps = json.dumps
    url_head = dumps(ctx.storage_origin(request, INGEST_PREFIX))[:-1]  # no closing quote
    parts = []
    mimes: dict[str, str] = {}
    signed = ctx.state.signed_item_uploads(session, ctx.signer)
    for item, filename, url, digest, link, expires in signed:
        mime = mimes.get(item.mime)
        if mime is None:
            mime = mimes[item.mime] = dumps(item.mime)
        hashed = "" if digest is None else f',"x-goog-hash":"{digest}"'
        parts.append(
            f'{{"metadata":{{"filename":{filename},"mime":{mime},'
            f'"size":{item.size:d},"crc32c":{item.crc32c:d}}},'
            f'"upload":{{"method":"PUT","url":{url_head}{url}",'
            f'"headers":{{"content-type":{mime}{hashed},'
            f'"x-goog-meta-datature-upload":"{link}"}},'
            f'"expiryDate":{expires:d}}}}}'
        )
    head = dumps(
        {"id": session.id, "object": "asset_upload_session", "opId": session.op_id},
        separators=(",", ":"),
    )
    return f'{head[:-1]},"assets":[{",".join(parts)}]}}'.encode()


def import_session(view: ImportView) -> JsonDict:
    """``ImportSession``."""
    session = view.session
    return {
        "id": session.id,
        "object": "annotation_import_session",
        "projectId": session.project_id,
        "status": {
            "overview": view.overview,
            "message": view.message,
            "updateDate": view.update_date,
            "files": {
                "totalSizeBytes": sum(f.size for f in session.files.values()),
                "pageCount": 1,
                "withStatus": view.files,
            },
            "annotations": {"withStatus": view.annotations},
        },
        "expiryDate": session.expires_at,
        "createDate": session.created_at,
        "updateDate": view.update_date,
    }


def dataset(ctx: Context, request: Request, view: DatasetView) -> JsonDict:
    """``Dataset`` (``uploadUrl`` always present)."""
    ds = view.dataset
    return {
        "id": ds.id,
        "object": "dataset",
        "name": ds.name,
        "projectId": ds.project_id,
        "expiryTime": ds.expiry_time,
        "status": {
            "overview": view.overview,
            "message": view.message,
            "updateTime": view.update_time,
            "source": {
                "kind": SOURCE_KIND,
                "uploadUrl": {
                    "method": "PUT",
                    "url": ctx.signed_url(request, ctx.state.dataset_target(ds)),
                    "headers": dict(ds.upload_headers),
                    "expiresAtTime": ds.url_expires_at,
                },
            },
            "itemCount": ds.item_count,
        },
        "createDate": ds.created_at,
        "updateDate": max(ds.update_date, view.update_time),
    }


def workflow(flow: Workflow) -> JsonDict:
    """``Workflow``."""
    return {
        "id": flow.id,
        "object": "workflow",
        "projectId": flow.project_id,
        "title": flow.title,
        "createDate": flow.create_date,
        "updateDate": flow.update_date,
    }


def custom_metadata(proj: Project, item: Asset, record: CustomMetadataRecord) -> JsonDict:
    """``AssetCustomMetadata``."""
    parent: JsonDict = {"assetId": item.id, "filename": item.filename, "project": proj.id}
    if record.frame is not None:
        parent["frame"] = record.frame
    return {
        "id": record.id,
        "object": "custom_metadata",
        "parent": parent,
        "customMetadata": dict(record.values),
    }
