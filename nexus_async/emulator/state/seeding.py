"""Seeding: build workspaces, projects, assets, annotations and workflows from a JSON spec."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from nexus_async.emulator.blobs import Extent
from nexus_async.emulator.errors import bad_request
from nexus_async.emulator.state.assets import guess_mime
from nexus_async.emulator.state.base import optional_str, require_object, require_str
from nexus_async.emulator.state.datasets import DatasetMixin
from nexus_async.emulator.state.models import JsonDict, Project, Workspace

DEFAULT_WORKFLOWS = ("YOLOv8 Object Detection Workflow", "RetinaNet Workflow")


def _list(spec: dict[str, Any], key: str) -> list[Any]:
    value = spec.get(key, [])
    if not isinstance(value, list):
        raise bad_request(f"{key} must be a list")
    return value


class SeedMixin(DatasetMixin):
    """Creates resources from a seed document (``POST /_emulator/seed``)."""

    def seed_default(self) -> tuple[Workspace, Project]:
        """One workspace with one ObjectDetection project and two workflows."""
        workspace = self.create_workspace(secret_key=self.config.default_secret_key)
        project = self.create_project(workspace.id, groups=["main"])
        for title in DEFAULT_WORKFLOWS:
            self.create_workflow(project, title)
        return workspace, project

    def seed(self, spec: object) -> JsonDict:
        """Create everything described by ``spec``; return the created ids."""
        document = require_object(spec, "seed")
        created = []
        for raw in _list(document, "workspaces"):
            ws_spec = require_object(raw, "workspaces[]")
            workspace = self.create_workspace(
                secret_key=optional_str(ws_spec, "secret_key"),
                name=optional_str(ws_spec, "name") or "Emulator Workspace",
                workspace_id=optional_str(ws_spec, "id"),
                tier=optional_str(ws_spec, "tier") or "Developer",
            )
            projects = [
                self._seed_project(workspace, require_object(p, "projects[]"))
                for p in _list(ws_spec, "projects")
            ]
            created.append(
                {"id": workspace.id, "secret_key": workspace.secret_key, "projects": projects}
            )
        return {"workspaces": created}

    def _seed_project(self, workspace: Workspace, spec: dict[str, Any]) -> JsonDict:
        project = self.create_project(
            workspace.id,
            name=optional_str(spec, "name") or "Emulator Project",
            project_type=optional_str(spec, "type") or "ObjectDetection",
            project_id=optional_str(spec, "id"),
            tags=[str(t) for t in _list(spec, "tags")],
            groups=[str(g) for g in _list(spec, "groups")] or ["main"],
            custom_statuses=[str(s) for s in _list(spec, "custom_statuses")],
        )
        workflows = [
            self.create_workflow(project, require_str(require_object(w, "workflows[]"), "title")).id
            for w in _list(spec, "workflows")
        ]
        assets = [
            self._seed_asset(project, require_object(a, "assets[]")) for a in _list(spec, "assets")
        ]
        return {"id": project.id, "name": project.name, "workflows": workflows, "assets": assets}

    def _seed_asset(self, project: Project, spec: dict[str, Any]) -> JsonDict:
        filename = require_str(spec, "filename")
        content = spec.get("content_base64")
        blobs = []
        size = spec.get("size", 0)
        if content is not None:
            try:
                data = base64.b64decode(str(content), validate=True)
            except (binascii.Error, ValueError):
                raise bad_request("content_base64 must be base64") from None
            blobs = [Extent.whole(self.blobs.write_bytes("assets", data), len(data))]
            size = len(data)
        if not isinstance(size, int) or isinstance(size, bool):
            raise bad_request("size must be an integer")
        width, height = spec.get("width"), spec.get("height")
        dimensions = (width, height) if isinstance(width, int) and isinstance(height, int) else None
        metadata = spec.get("custom_metadata")
        asset = self.store_asset(
            project,
            filename=filename,
            mime=optional_str(spec, "mime") or guess_mime(filename),
            size=size,
            blobs=blobs,
            groups=[str(g) for g in _list(spec, "groups")] or ["main"],
            visible_at=self.now(),
            custom_metadata=self.validate_custom_metadata(metadata) if metadata else None,
            status=optional_str(spec, "status") or "None",
            dimensions=dimensions,
        )
        annotations = []
        for raw in _list(spec, "annotations"):
            entry = require_object(raw, "annotations[]")
            frame = entry.get("frame")
            if frame is not None and (not isinstance(frame, int) or isinstance(frame, bool)):
                raise bad_request("frame must be an integer")
            annotation = self.add_annotation(
                project,
                asset.id,
                require_str(entry, "tag"),
                require_str(entry, "bound_type"),
                entry.get("bound"),
                frame=frame,
            )
            annotations.append(annotation.id)
        return {"id": asset.id, "filename": asset.filename, "annotations": annotations}
