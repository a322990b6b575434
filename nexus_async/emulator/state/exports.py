"""Annotation exports: a real ZIP archive built from the stored annotations."""

from __future__ import annotations

import io
import random
import zipfile
from typing import Any

from nexus_async.emulator import formats, ids
from nexus_async.emulator.errors import bad_request
from nexus_async.emulator.state.base import owned_by, require_object, require_str
from nexus_async.emulator.state.models import Export, Operation, Project
from nexus_async.emulator.state.operations import OperationMixin

EXPORT_KIND = "nexus.annotations.export"
EXPORT_FORMATS = frozenset(
    [
        "coco",
        "csv_fourcorner",
        "csv_widthheight",
        "csv_vott",
        "vott",
        "ibm",
        "pascal_voc",
        "yolo_darknet",
        "yolo_keras_pytorch",
        "createml",
        "tfrecord",
        "polygon_tfrecord",
        "polygon_coco",
        "polygon_single",
        "rle_coco",
        "rle_semantic_coco",
        "box_openai_positional_encoding",
        "polygon_openai_positional_encoding",
        "csv_classification",
        "classification_tfrecord",
        "classification_3d_tfrecord",
        "keypoints_coco",
        "keypoints_tfrecord",
        "keypoints_datature_raw",
        "bitmask_tfrecord",
        "bitmask_rle_coco",
        "bitmask_rle_semantic_coco",
        "bitmask_openai_positional_encoding",
        "nifti_one_hot_segmentation",
        "nifti_class_index_segmentation",
        "segmentation_3d_tfrecord",
    ]
)


CLASSIFICATION_FORMATS = frozenset(
    ["csv_classification", "classification_tfrecord", "classification_3d_tfrecord"]
)


def format_fits_project(export_format: str, project_type: str) -> bool:
    """Classification projects export only classification formats, and vice versa; an
    export in a format that does not fit ends ``Errored`` (nexus-api.md §15.7)."""
    is_classification_format = export_format in CLASSIFICATION_FORMATS
    return is_classification_format == (project_type == "Classification")


class ExportMixin(OperationMixin):
    """Annotation exports."""

    def create_export(self, project: Project, body: dict[str, Any]) -> Operation:
        """Validate the request, build the archive and start the export operation."""
        export_format = require_str(body, "format")
        if export_format not in EXPORT_FORMATS:
            raise bad_request(f"Unknown export format {export_format!r}")
        options = require_object(body.get("options", {}), "options")
        split = options.get("splitRatio", 0.0)
        seed = options.get("seed", 0)
        normalized = options.get("normalized", True)
        if not isinstance(split, int | float) or isinstance(split, bool) or not 0 <= split <= 1:
            raise bad_request("options.splitRatio must be a number between 0 and 1")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise bad_request("options.seed must be an integer")
        if not isinstance(normalized, bool):
            raise bad_request("options.normalized must be a boolean")
        now = self.now()
        op_id = ids.uuid_id("op_")
        if format_fits_project(export_format, project.type):
            archive = self._build_archive(project, export_format, float(split), seed, normalized)
            export = Export(
                op_id, project.id, export_format, now, self.blobs.write_bytes("exports", archive)
            )
        else:
            export = Export(op_id, project.id, export_format, now, None, errored=True)
        self.store.exports[op_id] = export
        operation = Operation(op_id, project.id, EXPORT_KIND, "whole operation", now, op_id)
        self.store.operations[op_id] = operation
        self.store.created.exports += 1
        return operation

    def _build_archive(
        self, project: Project, export_format: str, split: float, seed: int, normalized: bool
    ) -> bytes:
        rows: formats.ExportRows = []
        for asset in self.visible_assets(project):
            annotations = [
                formats.ExportAnnotation(a.tag, a.bound_type, a.bound)
                for a in (project.annotations[i] for i in asset.annotation_ids)
            ]
            if annotations:
                info = formats.AssetInfo(asset.id, asset.filename, asset.width, asset.height)
                rows.append((info, annotations))
        random.Random(seed).shuffle(rows)
        n_validate = round(len(rows) * split)
        splits = {"train": rows[n_validate:], "validate": rows[:n_validate]}
        key = project.id.removeprefix("proj_")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for split_name, split_rows in splits.items():
                if split_name == "validate" and not split_rows:
                    continue
                if export_format == "csv_fourcorner":
                    data = formats.write_csv_fourcorner(split_rows, normalized)
                    archive.writestr(f"{key}/{split_name}.csv", data)
                elif export_format == "coco":
                    data = formats.write_coco(split_rows, normalized, list(project.tags))
                    archive.writestr(f"{key}/{split_name}.json", data)
                elif split_name == "train":
                    archive.writestr(
                        f"{key}/README.txt",
                        f"Format {export_format} is not rendered by the Nexus emulator.\n",
                    )
        return buffer.getvalue()

    def get_export(self, project: Project, op_id: str) -> Export:
        """One export of the project, else 404."""
        return owned_by(project, self.store.exports, op_id, "Export")
