"""Annotation exports (nexus-api.md §9)."""

from __future__ import annotations

from enum import Enum

from pydantic import Field, StrictBool, StrictFloat, StrictInt

from nexus_async._constants import EXPORT_SEED, EXPORT_SPLIT_RATIO
from nexus_async._models import NexusModel, ParamsModel

__all__ = [
    "AnnotationExportFormat",
    "AnnotationExportMetadata",
    "AnnotationExportOptions",
    "ExportDownload",
    "ExportedAnnotations",
    "LocalAnnotations",
]


class AnnotationExportFormat(str, Enum):
    """Annotation export formats (the wire value is the string)."""

    COCO = "coco"
    CSV_FOURCORNER = "csv_fourcorner"
    CSV_WIDTHHEIGHT = "csv_widthheight"
    CSV_VOTT = "csv_vott"
    VOTT = "vott"
    IBM = "ibm"
    PASCAL_VOC = "pascal_voc"
    YOLO_DARKNET = "yolo_darknet"
    YOLO_KERAS_PYTORCH = "yolo_keras_pytorch"
    CREATEML = "createml"
    TFRECORD = "tfrecord"
    POLYGON_TFRECORD = "polygon_tfrecord"
    POLYGON_COCO = "polygon_coco"
    POLYGON_SINGLE = "polygon_single"
    RLE_COCO = "rle_coco"
    RLE_SEMANTIC_COCO = "rle_semantic_coco"
    BOX_OPENAI_POSITIONAL_ENCODING = "box_openai_positional_encoding"
    POLYGON_OPENAI_POSITIONAL_ENCODING = "polygon_openai_positional_encoding"
    CSV_CLASSIFICATION = "csv_classification"
    CLASSIFICATION_TFRECORD = "classification_tfrecord"
    CLASSIFICATION_3D_TFRECORD = "classification_3d_tfrecord"
    KEYPOINTS_COCO = "keypoints_coco"
    KEYPOINTS_TFRECORD = "keypoints_tfrecord"
    KEYPOINTS_DATATURE_RAW = "keypoints_datature_raw"
    BITMASK_TFRECORD = "bitmask_tfrecord"
    BITMASK_RLE_COCO = "bitmask_rle_coco"
    BITMASK_RLE_SEMANTIC_COCO = "bitmask_rle_semantic_coco"
    BITMASK_OPENAI_POSITIONAL_ENCODING = "bitmask_openai_positional_encoding"
    NIFTI_ONE_HOT_SEGMENTATION = "nifti_one_hot_segmentation"
    NIFTI_CLASS_INDEX_SEGMENTATION = "nifti_class_index_segmentation"
    SEGMENTATION_3D_TFRECORD = "segmentation_3d_tfrecord"


class AnnotationExportOptions(ParamsModel):
    """``split_ratio`` (share of assets in the validation split; default 0.0, one split),
    ``seed`` (of the split's shuffle; default 1337, the official CLI's), ``normalized``
    (coordinates relative to the image size; default True). All three are always sent."""

    split_ratio: StrictFloat = Field(default=EXPORT_SPLIT_RATIO, ge=0.0, le=1.0)
    seed: StrictInt = EXPORT_SEED
    normalized: StrictBool = True


class AnnotationExportMetadata(ParamsModel):
    """An export request: ``{"format": "csv_fourcorner"}``, ``options`` optional
    (``{"split_ratio": 0.2, "seed": 7, "normalized": False}``, each with its default)."""

    format: AnnotationExportFormat
    options: AnnotationExportOptions = Field(default_factory=AnnotationExportOptions)


class ExportDownload(NexusModel):
    """The signed link of a finished export."""

    method: str
    url: str
    expiry_date: int


class ExportedAnnotations(NexusModel):
    """An export's state; ``download`` is present once it is ``Finished``."""

    op_id: str
    status: str
    download: ExportDownload | None = None


class LocalAnnotations(NexusModel):
    """Where an export was extracted, and the files it contained."""

    download_path: str
    file_names: list[str]
