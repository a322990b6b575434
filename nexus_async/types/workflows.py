"""Workflows (nexus-api.md §12)."""

from __future__ import annotations

from pydantic import Field

from nexus_async._models import NexusModel, ParamsModel

__all__ = ["FlowMetadata", "Workflow"]


class Workflow(NexusModel):
    """A training workflow of a project."""

    id: str
    project_id: str
    title: str
    create_date: int
    update_date: int


class FlowMetadata(ParamsModel):
    """What ``workflows.update`` may change: ``{"title": "My awesome workflow"}``."""

    title: str = Field(min_length=1)
