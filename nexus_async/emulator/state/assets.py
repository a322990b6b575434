"""Assets, asset groups and custom metadata."""

from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from typing import Any

from nexus_async.emulator import ids
from nexus_async.emulator.blobs import Extent
from nexus_async.emulator.errors import ApiError, bad_request, not_found
from nexus_async.emulator.state.base import (
    Page,
    require_object,
    require_str,
    require_str_list,
)
from nexus_async.emulator.state.models import (
    Asset,
    CustomMetadataRecord,
    JsonDict,
    MetadataValue,
    Project,
)
from nexus_async.emulator.state.workspace import BUILTIN_STATUSES, WorkspaceMixin

MIB = 1024 * 1024
GIB = 1024 * MIB
IMAGE_MIMES = frozenset(
    [
        "image/avif",
        "image/bmp",
        "image/gif",
        "image/heic",
        "image/heif",
        "image/jpeg",
        "image/jp2",
        "image/png",
        "image/tiff",
        "image/webp",
    ]
)
VIDEO_MIMES = frozenset(
    [
        "video/3gpp",
        "video/x-msvideo",
        "video/x-ms-asf",
        "video/mp4",
        "video/x-flv",
        "video/x-m4v",
        "video/matroska",
        "video/mpeg",
        "video/quicktime",
        "video/ogg",
        "application/vnd.rn-realmedia",
        "video/webm",
    ]
)
MEDICAL_MIMES = frozenset(
    ["application/x-nifti-gz", "application/x-nifti", "application/x-dicom-3d-zip"]
)
RGBD_MIMES = frozenset(["application/x-rgbd-zip"])
MAX_SIZE_BY_KIND = {
    "image": 256 * MIB,
    "video": 512 * GIB,
    "medical": GIB,
    "rgbd": 512 * MIB,
}
EXTENSION_MIMES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jfif": "image/jpeg",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "mp4": "video/mp4",
}
GROUP_COUNTERS = {
    "Annotated": "annotatedAssets",
    "Review": "reviewedAssets",
    "Tofix": "toFixedAssets",
    "Completed": "completedAssets",
}
CUSTOM_METADATA_KINDS = (
    "customMetadata#assetParent",
    "customMetadata#assetFrameParent",
    "customMetadata#assetFilenameParent",
    "customMetadata#assetFilenameFrameParent",
)


def parse_metadata_query(text: str) -> list[tuple[str, str | None]]:
    """Parse the emulator's ``metadataQuery`` subset: ``key=value`` or ``key`` terms joined
    by ``and`` (case-insensitive); a bare ``key`` means "has this key"."""
    terms: list[tuple[str, str | None]] = []
    for raw in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        key, sep, value = raw.partition("=")
        if not key.strip():
            raise bad_request(f"Invalid metadataQuery term {raw!r}")
        terms.append((key.strip(), value.strip() if sep else None))
    return terms


def metadata_matches(
    metadata: dict[str, MetadataValue], terms: list[tuple[str, str | None]]
) -> bool:
    """Whether every term holds (values compare as their JSON text, strings unquoted)."""
    for key, value in terms:
        if key not in metadata:
            return False
        actual = metadata[key]
        text = actual if isinstance(actual, str) else json.dumps(actual)
        if value is not None and text != value.strip('"'):
            return False
    return True


_MIME_KINDS = {
    mime: kind
    for kind, mimes in (
        ("rgbd", RGBD_MIMES),
        ("medical", MEDICAL_MIMES),
        ("video", VIDEO_MIMES),
        ("image", IMAGE_MIMES),
    )
    for mime in mimes
}


def mime_kind(mime: str) -> str | None:
    """``image``/``video``/``medical``/``rgbd`` for a supported MIME type, else None."""
    return _MIME_KINDS.get(mime)


def guess_mime(filename: str) -> str:
    """MIME type from a file extension (defaults to ``image/png``)."""
    return EXTENSION_MIMES.get(filename.rsplit(".", 1)[-1].lower(), "image/png")


class AssetMixin(WorkspaceMixin):
    """Assets, asset groups and custom metadata."""

    # -- creation (used by uploads and seeding) ---------------------------------------

    def store_asset(
        self,
        project: Project,
        *,
        filename: str,
        mime: str,
        size: int,
        blobs: list[Extent],
        groups: list[str],
        visible_at: int,
        custom_metadata: dict[str, MetadataValue] | None = None,
        status: str = "None",
        dimensions: tuple[int, int] | None = None,
    ) -> Asset:
        """Create an asset, or replace the content of the asset with the same filename."""
        existing_id = project.asset_by_filename.get(filename)
        if existing_id is not None:
            asset = project.assets[existing_id]
            asset.mime, asset.size, asset.blobs = mime, size, blobs
            asset.dimensions, asset.groups = dimensions, list(groups)
        else:
            asset = Asset(
                id=ids.uuid_id("asset_"),
                seq=self.next_seq(),
                project_id=project.id,
                filename=filename,
                status=status,
                create_date=self.now(),
                mime=mime,
                size=size,
                groups=list(groups),
                visible_at=visible_at,
                blobs=blobs,
                dimensions=dimensions,
            )
            project.assets[asset.id] = asset
            project.asset_by_filename[filename] = asset.id
        if custom_metadata:
            self._upsert_record(asset, None, custom_metadata)
        self.ensure_groups(project, groups)
        return asset

    # -- reads -----------------------------------------------------------------------

    def visible_assets(self, project: Project) -> list[Asset]:
        """Assets whose ingestion has finished, in creation order."""
        now = self.now()
        return [a for a in project.assets.values() if a.visible_at <= now]

    def find_asset(self, project: Project, id_or_name: str) -> Asset:
        """Resolve an asset by exact id, else by exact filename; 404 when invisible/unknown."""
        asset = project.assets.get(id_or_name)
        if asset is None:
            asset_id = project.asset_by_filename.get(id_or_name)
            asset = project.assets.get(asset_id) if asset_id else None
        if asset is None or asset.visible_at > self.now():
            raise not_found("Asset")
        return asset

    def asset_by_id(self, asset_id: str) -> Asset | None:
        """Any visible asset of any project by id (for signed downloads)."""
        for project in self.store.projects.values():
            asset = project.assets.get(asset_id)
            if asset is not None:
                return asset if asset.visible_at <= self.now() else None
        return None

    def list_assets(self, project: Project, query: dict[str, Any]) -> Page:
        """Filter and paginate assets (``group``, ``filename``, ``status``, ``filter``...)."""
        groups = query.get("group")
        filename = query.get("filename")
        status = query.get("status")
        asset_filter = query.get("filter")
        if isinstance(asset_filter, str):
            try:
                json.loads(asset_filter)
            except ValueError:
                raise bad_request("filter must be a JSON string") from None
        assets = self.visible_assets(project)
        if groups:
            wanted = set(groups if isinstance(groups, list) else [groups])
            assets = [a for a in assets if wanted.intersection(a.groups)]
        if isinstance(filename, str):
            assets = [a for a in assets if a.filename == filename]
        if isinstance(status, str):
            assets = [a for a in assets if a.status == status]
        metadata_query = query.get("metadataQuery")
        if isinstance(metadata_query, str) and metadata_query.strip():
            terms = parse_metadata_query(metadata_query)
            assets = [a for a in assets if metadata_matches(a.merged_metadata(), terms)]
        return self.paginate(assets, lambda a: a.seq, query.get("page"), query["limit"])

    # -- writes ----------------------------------------------------------------------

    def update_asset(self, project: Project, id_or_name: str, body: dict[str, Any]) -> Asset:
        """Apply ``status`` / ``groups`` / ``customMetadata`` (replacing the map)."""
        asset = self.find_asset(project, id_or_name)
        status = body.get("status")
        groups = body.get("groups")
        metadata = body.get("customMetadata")
        if status is not None:
            status = require_str(body, "status")
            if status not in BUILTIN_STATUSES and status not in project.custom_statuses:
                raise bad_request(f"Unknown asset status {status!r}")
        if groups is not None:
            groups = require_str_list(groups, "groups")
        if metadata is not None:
            metadata = self.validate_custom_metadata(metadata)
        if status is not None:
            asset.status = status
        if groups is not None:
            asset.groups = groups
            self.ensure_groups(project, groups)
        if metadata is not None:
            asset.custom_metadata = [r for r in asset.custom_metadata if r.frame is not None]
            if metadata:
                self._upsert_record(asset, None, metadata)
        return asset

    def delete_asset(self, project: Project, id_or_name: str) -> str:
        """Delete an asset and its annotations."""
        asset = self.find_asset(project, id_or_name)
        for annotation_id in asset.annotation_ids:
            project.annotations.pop(annotation_id, None)
        del project.assets[asset.id]
        project.asset_by_filename.pop(asset.filename, None)
        return asset.id

    # -- statistics ------------------------------------------------------------------

    def asset_statistic(self, project: Project, asset: Asset) -> JsonDict:
        """``tagsCount`` and ``totalAnnotations`` of one asset."""
        tags = Counter(project.annotations[a].tag for a in asset.annotation_ids)
        return {
            "tagsCount": [{"name": n, "count": c} for n, c in tags.items()],
            "totalAnnotations": len(asset.annotation_ids),
        }

    def project_statistic(self, project: Project) -> JsonDict:
        """Project-wide counters."""
        assets = self.visible_assets(project)
        tags = Counter(a.tag for a in project.annotations.values())
        return {
            "tagsCount": [{"name": n, "count": tags.get(n, 0)} for n in project.tags],
            "totalAssets": len(assets),
            "annotatedAssets": sum(1 for a in assets if a.annotation_ids),
            "totalAnnotations": len(project.annotations),
        }

    def group_statistics(self, project: Project, groups: list[str] | None) -> list[JsonDict]:
        """Per-group asset counters (``assetgroups``)."""
        names = list(groups) if groups else list(project.groups)
        stats = {
            name: dict.fromkeys(
                [
                    "totalAssets",
                    "annotatedAssets",
                    "reviewedAssets",
                    "toFixedAssets",
                    "completedAssets",
                ],
                0,
            )
            for name in names
        }
        for asset in self.visible_assets(project):
            for group in asset.groups:
                counters = stats.get(group)
                if counters is None:
                    continue
                counters["totalAssets"] += 1
                field = GROUP_COUNTERS.get(asset.status)
                if field:
                    counters[field] += 1
        return [{"group": name, "statistic": counters} for name, counters in stats.items()]

    # -- custom-metadata records (§5.7) ----------------------------------------------

    def _upsert_record(
        self, asset: Asset, frame: int | None, values: dict[str, MetadataValue]
    ) -> CustomMetadataRecord:
        for record in asset.custom_metadata:
            if record.frame == frame:
                record.values = dict(values)
                return record
        kind = "assetParent" if frame is None else "assetFrameParent"
        record_id = f"custommeta_customMetadata#{kind}:{secrets.token_hex(16)}:{ids.uuid_id('')}"
        record = CustomMetadataRecord(record_id, frame, dict(values))
        asset.custom_metadata.append(record)
        return record

    def put_custom_metadata(
        self, project: Project, id_or_name: str, body: dict[str, Any]
    ) -> tuple[Asset, CustomMetadataRecord]:
        """Upsert one record of an asset (``PUT …/customMetadatas``)."""
        asset = self.find_asset(project, id_or_name)
        parent = require_object(body.get("parent"), "parent")
        values = self.validate_custom_metadata(body.get("customMetadata"))
        return asset, self._upsert_record(asset, _parent_frame(parent), values)

    def delete_custom_metadata(self, project: Project, id_or_name: str, record_id: str) -> str:
        """Delete one record of an asset."""
        asset = self.find_asset(project, id_or_name)
        if not self._remove_record(asset, record_id):
            raise not_found("Custom Metadata")
        return record_id

    def _remove_record(self, asset: Asset, record_id: str) -> bool:
        before = len(asset.custom_metadata)
        asset.custom_metadata = [r for r in asset.custom_metadata if r.id != record_id]
        return len(asset.custom_metadata) != before

    def bulk_update_custom_metadata(
        self, project: Project, body: dict[str, Any]
    ) -> tuple[list[tuple[Asset, CustomMetadataRecord]], list[tuple[JsonDict, str]]]:
        """Upsert many records; returns (written, errors)."""
        entries = body.get("customMetadatas")
        if not isinstance(entries, list):
            raise bad_request("customMetadatas must be a list")
        written: list[tuple[Asset, CustomMetadataRecord]] = []
        errors: list[tuple[JsonDict, str]] = []
        for entry in entries:
            entry = require_object(entry, "customMetadatas[]")
            parent = require_object(entry.get("parent"), "parent")
            values = self.validate_custom_metadata(entry.get("customMetadata"))
            if parent.get("kind") not in CUSTOM_METADATA_KINDS:
                raise bad_request("parent.kind is not a known custom-metadata parent kind")
            key = parent.get("assetId") or parent.get("filename")
            try:
                asset = self.find_asset(project, key if isinstance(key, str) else "")
            except ApiError:
                errors.append((entry, "Asset not found"))
                continue
            written.append((asset, self._upsert_record(asset, _parent_frame(parent), values)))
        return written, errors

    def bulk_delete_custom_metadata(self, project: Project, body: dict[str, Any]) -> list[str]:
        """Delete records by id; returns the ids that were not found."""
        record_ids = require_str_list(body.get("ids"), "ids")
        missing = []
        for record_id in record_ids:
            if not any(self._remove_record(a, record_id) for a in project.assets.values()):
                missing.append(record_id)
        return missing


def _parent_frame(parent: dict[str, Any]) -> int | None:
    frame = parent.get("frame")
    if frame is None:
        return None
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
        raise bad_request("parent.frame must be a non-negative integer")
    return frame
