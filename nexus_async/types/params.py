"""Request dicts, typed: what each method accepts as a plain dict, key by key.

As in the Stainless SDKs' ``*_params.py``, a dict literal passed to a method is checked by the
type checker against these (a misspelt key is a type error), while at run time the same dicts,
or the params models of :mod:`nexus_async.types`, are validated before anything is sent. Keys are
snake_case, as the models' attributes.

Example::

    from nexus_async.types.params import AssetUpdateParams

    change: AssetUpdateParams = {"status": "Annotated", "custom_metadata": {"site": "A"}}
    await project.assets.update("boat180.png", change)
"""

from __future__ import annotations

from typing import Any

from typing_extensions import Required, TypedDict

from nexus_async.types.annotations import BoundType
from nexus_async.types.assets import CustomMetadataValue
from nexus_async.types.exports import AnnotationExportFormat

__all__ = [
    "AnnotationExportOptionsParams",
    "AnnotationExportParams",
    "AnnotationFilterParams",
    "AnnotationParams",
    "AssetFilterParams",
    "AssetUpdateParams",
    "FlowParams",
    "PaginationParams",
    "ProjectParams",
]


class PaginationParams(TypedDict, total=False):
    """``{"page": cursor, "limit": 100}``: which page of a list, and how long."""

    page: str | None
    limit: int | None


class AssetFilterParams(TypedDict, total=False):
    """Filters of ``assets.list``/``iter``."""

    groups: list[str]
    filename: str
    metadata_query: str
    status: str
    asset_filter: str | dict[str, Any]


class AssetUpdateParams(TypedDict, total=False):
    """What ``assets.update`` changes."""

    status: str
    groups: list[str]
    custom_metadata: dict[str, CustomMetadataValue]


class AnnotationParams(TypedDict, total=False):
    """A new annotation for ``annotations.create``."""

    asset_id: Required[str]
    tag: Required[str]
    bound_type: Required[BoundType | str]
    bound: Required[list[list[float]]]
    frame: int
    aggregation: dict[str, Any]
    attributes: list[dict[str, Any]]


class AnnotationFilterParams(TypedDict, total=False):
    """Filters of ``annotations.list``/``iter``."""

    asset_ids: list[str]


class AnnotationExportOptionsParams(TypedDict, total=False):
    """Options of an export (each has a default)."""

    split_ratio: float
    seed: int
    normalized: bool


class AnnotationExportParams(TypedDict, total=False):
    """An export for ``annotations.create_export``."""

    format: Required[AnnotationExportFormat | str]
    options: AnnotationExportOptionsParams


class ProjectParams(TypedDict):
    """What ``project.update`` changes."""

    name: str


class FlowParams(TypedDict):
    """What ``workflows.update`` changes."""

    title: str
