"""Annotations."""

from __future__ import annotations

from typing import Any

from nexus_async.emulator import ids
from nexus_async.emulator.errors import bad_request, not_found
from nexus_async.emulator.state.assets import AssetMixin
from nexus_async.emulator.state.base import Page, require_str
from nexus_async.emulator.state.models import Annotation, Project

BOUND_TYPES = ("Rectangle", "Polygon", "Classification", "Keypoints", "Bitmask3d")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate_bound(bound_type: str, bound: object) -> list[Any]:
    """Check a ``bound`` against its ``boundType`` (normalised coordinates in [0, 1])."""
    if bound_type not in BOUND_TYPES:
        raise bad_request(f"boundType must be one of {', '.join(BOUND_TYPES)}")
    if not isinstance(bound, list):
        raise bad_request("bound must be a list of points")
    for point in bound:
        if not isinstance(point, list) or len(point) not in (2, 3):
            raise bad_request("every point of bound must be [x, y] or [x, y, visibility]")
        if not all(_is_number(v) for v in point):
            raise bad_request("bound coordinates must be numbers")
        if not (0 <= point[0] <= 1 and 0 <= point[1] <= 1):
            raise bad_request("bound coordinates must be normalised to [0, 1]")
    if bound_type == "Rectangle" and len(bound) != 4:
        raise bad_request("a Rectangle bound has exactly 4 points")
    if bound_type == "Polygon" and len(bound) < 3:
        raise bad_request("a Polygon bound has at least 3 points")
    return bound


class AnnotationMixin(AssetMixin):
    """Annotations of a project's assets."""

    def add_annotation(
        self,
        project: Project,
        asset_id: str,
        tag: str,
        bound_type: str,
        bound: object,
        *,
        frame: int | None = None,
        aggregation: dict[str, Any] | None = None,
        attributes: list[dict[str, Any]] | None = None,
    ) -> Annotation:
        """Validate and store one annotation (tags are created on first use)."""
        asset = project.assets.get(asset_id)
        if asset is None or asset.visible_at > self.now():
            raise not_found("Asset")
        checked = validate_bound(bound_type, bound)
        self.ensure_tag(project, tag)
        annotation = Annotation(
            id=ids.uuid_id("annot_"),
            seq=self.next_seq(),
            project_id=project.id,
            asset_id=asset.id,
            tag=tag,
            bound_type=bound_type,
            bound=checked,
            create_date=self.now(),
            frame=frame,
            aggregation=aggregation,
            attributes=attributes,
        )
        project.annotations[annotation.id] = annotation
        asset.annotation_ids[annotation.id] = None
        self.store.created.annotations += 1
        return annotation

    def create_annotation(self, project: Project, body: dict[str, Any]) -> Annotation:
        """``POST /annotations``."""
        frame = body.get("frame")
        if frame is not None and (not isinstance(frame, int) or isinstance(frame, bool)):
            raise bad_request("frame must be an integer")
        aggregation = body.get("aggregation")
        if aggregation is not None and not isinstance(aggregation, dict):
            raise bad_request("aggregation must be an object")
        attributes = body.get("attributes")
        if attributes is not None and not (
            isinstance(attributes, list) and all(isinstance(a, dict) for a in attributes)
        ):
            raise bad_request("attributes must be a list of objects")
        return self.add_annotation(
            project,
            require_str(body, "assetId"),
            require_str(body, "tag"),
            require_str(body, "boundType"),
            body.get("bound"),
            frame=frame,
            aggregation=aggregation,
            attributes=attributes,
        )

    def get_annotation(self, project: Project, annotation_id: str) -> Annotation:
        """One annotation, else 404."""
        annotation = project.annotations.get(annotation_id)
        if annotation is None:
            raise not_found("Annotation")
        return annotation

    def list_annotations(self, project: Project, query: dict[str, Any]) -> Page:
        """Paginate annotations, optionally of some assets only (``assetId[]``)."""
        wanted = query.get("assetId")
        annotations = list(project.annotations.values())
        if wanted:
            asset_ids = set(wanted if isinstance(wanted, list) else [wanted])
            annotations = [a for a in annotations if a.asset_id in asset_ids]
        return self.paginate(annotations, lambda a: a.seq, query.get("page"), query["limit"])

    def delete_annotation(self, project: Project, annotation_id: str) -> str:
        """Delete one annotation."""
        annotation = self.get_annotation(project, annotation_id)
        del project.annotations[annotation_id]
        asset = project.assets.get(annotation.asset_id)
        if asset is not None:
            asset.annotation_ids.pop(annotation_id, None)
        return annotation_id
