"""Assets and asset groups (nexus-api.md §5)."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator

from nexus_async._models import NexusModel, ParamsModel
from nexus_async.types.common import TagsCountItem

__all__ = [
    "Asset",
    "AssetAnnotationsStatistic",
    "AssetFilter",
    "AssetGroup",
    "AssetGroupStatistic",
    "AssetMetadataInfo",
    "AssetStatus",
    "AssetUpdate",
    "CustomMetadata",
]

CustomMetadataValue = StrictBool | StrictInt | StrictFloat | StrictStr
CustomMetadata = dict[str, CustomMetadataValue]
"""Flat custom metadata: string keys, values str, int, float or bool (no nesting)."""

NonBlankStr = Annotated[str, Field(min_length=1, pattern=r"\S")]


class AssetStatus(str, Enum):
    """Built-in annotation statuses. Projects may define more (any string is accepted)."""

    NONE = "None"
    ANNOTATED = "Annotated"
    REVIEW = "Review"
    COMPLETED = "Completed"
    TOFIX = "Tofix"


class AssetMetadataInfo(NexusModel):
    """File facts and groups of an asset, as the server reports them (``Asset.metadata``).

    The request that changes them is :class:`AssetUpdate` (``ApiTypes.AssetMetadata``).
    """

    file_size: int
    mime_type: str
    height: int
    width: int
    groups: list[str]
    custom_metadata: dict[str, Any] | None = None


class AssetAnnotationsStatistic(NexusModel):
    """Annotation counts of one asset."""

    tags_count: list[TagsCountItem] | None = None
    total_annotations: int | None = None


class Asset(NexusModel):
    """An asset (image, video or medical volume) of a project."""

    id: str
    project_id: str
    filename: str
    status: str
    create_date: int
    url: str
    metadata: AssetMetadataInfo
    statistic: AssetAnnotationsStatistic | None = None
    transformation_urls: dict[str, str] | None = None

    @property
    def project(self) -> str:
        """The project's id, under the name the official documentation prints
        (``Asset(..., project='proj_...')``); the same as ``project_id``."""
        return self.project_id


class AssetGroupStatistic(NexusModel):
    """Asset counts of one group, by annotation status."""

    total_assets: int | None = None
    annotated_assets: int | None = None
    reviewed_assets: int | None = None
    to_fixed_assets: int | None = None
    completed_assets: int | None = None


class AssetGroup(NexusModel):
    """One asset group and its statistics."""

    group: str | None = None
    statistic: AssetGroupStatistic | None = None


class AssetUpdate(ParamsModel):
    """What ``assets.update`` may change: ``{"status": "Annotated"}``,
    ``{"custom_metadata": {...}}`` (replaces the whole map) and ``{"groups": [...]}``."""

    status: NonBlankStr | None = None
    groups: list[NonBlankStr] | None = None
    custom_metadata: CustomMetadata | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status_value(cls, value: object) -> object:
        return value.value if isinstance(value, AssetStatus) else value


class AssetFilter(ParamsModel):
    """Filters of ``assets.list``: any of ``groups``, ``filename``, ``metadata_query``,
    ``status`` and ``asset_filter`` (a JSON object, given as a dict or a JSON string)."""

    groups: list[str] | None = None
    filename: str | None = None
    metadata_query: str | None = None
    status: str | None = None
    asset_filter: str | dict[str, Any] | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status_value(cls, value: object) -> object:
        return value.value if isinstance(value, AssetStatus) else value

    @field_validator("asset_filter")
    @classmethod
    def _json_text(cls, value: str | dict[str, Any] | None) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ValueError(f"asset_filter is not valid JSON: {exc}") from None
        return json.dumps(value)

    def to_query(self) -> dict[str, object]:
        """The query parameters, in the official client's order and names."""
        return {
            "group": self.groups,
            "filename": self.filename,
            "metadataQuery": self.metadata_query,
            "status": self.status,
            "filter": self.asset_filter,
        }


AssetMetadata = AssetMetadataInfo
"""The old name of :class:`AssetMetadataInfo`, kept for ``from nexus_async.types.assets import
AssetMetadata``; not re-exported by :mod:`nexus_async.types`, where it would read as the
request ``ApiTypes.AssetMetadata``."""
