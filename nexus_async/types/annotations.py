"""Annotations (nexus-api.md §8)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import Field, StrictFloat, StrictInt, field_validator

from nexus_async._models import NexusModel, ParamsModel

__all__ = [
    "Annotation",
    "AnnotationFilter",
    "AnnotationMetadata",
    "BoundType",
    "OntologyAttributeValue",
]


class BoundType(str, Enum):
    """Shapes of annotations."""

    RECTANGLE = "Rectangle"
    POLYGON = "Polygon"
    CLASSIFICATION = "Classification"
    KEYPOINTS = "Keypoints"
    BITMASK_3D = "Bitmask3d"


class OntologyAttributeValue(NexusModel):
    """One attribute of an annotation (present with ``include_attributes=True``)."""

    id: str
    name: str
    value: str | int | float | list[str] | None = None


class Annotation(NexusModel):
    """An annotation; ``bound`` holds normalised ``[x, y]`` points."""

    id: str
    project_id: str
    asset_id: str
    tag: str
    bound_type: str
    bound: list[list[float]]
    frame: int | None = None
    sequence: str | None = None
    create_date: int | None = None
    ontology_id: str | None = None
    attributes: list[OntologyAttributeValue] | None = None
    aggregation: dict[str, Any] | None = None
    chunk_data: str | None = None


class AnnotationMetadata(ParamsModel):
    """A new annotation: ``asset_id`` (an asset id, not a file name), ``tag``, ``bound_type``
    and ``bound``; optionally ``frame``, ``aggregation`` and ``attributes``."""

    asset_id: str = Field(min_length=1)
    tag: str = Field(min_length=1)
    bound_type: BoundType
    bound: list[list[StrictFloat]]
    frame: StrictInt | None = Field(default=None, ge=0)
    aggregation: dict[str, Any] | None = None
    attributes: list[dict[str, Any]] | None = None

    @field_validator("bound")
    @classmethod
    def _points(cls, bound: list[list[StrictFloat]]) -> list[list[StrictFloat]]:
        for point in bound:
            if len(point) not in (2, 3):
                raise ValueError(f"each point is [x, y] or [x, y, visibility], got {point}")
        return bound


class AnnotationFilter(ParamsModel):
    """Filters of ``annotations.list``: ``{"asset_ids": [...]}``."""

    asset_ids: list[str] | None = None
