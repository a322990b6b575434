"""Projects (nexus-api.md §4.3-4.4)."""

from __future__ import annotations

from pydantic import Field, field_validator

from nexus_async._models import NexusModel, ParamsModel
from nexus_async.types.common import TagsCountItem

__all__ = ["ProjectInfo", "ProjectMetadata", "ProjectStatistic"]


class ProjectStatistic(NexusModel):
    """Counts of a project's assets and annotations."""

    tags_count: list[TagsCountItem] | None = None
    total_assets: int | None = None
    annotated_assets: int | None = None
    total_annotations: int | None = None


class ProjectInfo(NexusModel):
    """What the API says about a project (the official SDK prints it as ``Project(...)``)."""

    id: str
    name: str
    workspace_id: str
    type: str
    create_date: int
    localization: str
    tags: list[str]
    groups: list[str]
    statistic: ProjectStatistic = Field(default_factory=ProjectStatistic)
    """Counts of assets and annotations (each None when the API did not send it)."""


class ProjectMetadata(ParamsModel):
    """The fields of a project that can be changed: ``{"name": "Cats"}``."""

    name: str = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value
