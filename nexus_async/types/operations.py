"""Long-running operations (nexus-api.md §7)."""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from nexus_async._models import NexusModel

__all__ = [
    "Operation",
    "OperationProgress",
    "OperationProgressWithStatus",
    "OperationStatus",
    "OperationStatusOverview",
]


class OperationStatusOverview(str, Enum):
    """The states of an operation."""

    QUEUED = "Queued"
    RUNNING = "Running"
    FINISHED = "Finished"
    CANCELLED = "Cancelled"
    ERRORED = "Errored"


class OperationProgressWithStatus(NexusModel):
    """How many items of the operation are in each state (names as on the wire)."""

    Queued: int = Field(alias="Queued")
    Running: int = Field(alias="Running")
    Finished: int = Field(alias="Finished")
    Cancelled: int = Field(alias="Cancelled")
    Errored: int = Field(alias="Errored")


class OperationProgress(NexusModel):
    """Progress counters; ``unit`` is ``asset`` or ``whole operation``."""

    unit: str
    with_status: OperationProgressWithStatus


class OperationStatus(NexusModel):
    """``overview`` is one of :class:`OperationStatusOverview`'s values."""

    overview: str
    message: str
    progress: OperationProgress


class Operation(NexusModel):
    """An operation, e.g. the ingestion of an upload session or an annotation export."""

    id: str
    kind: str
    status: OperationStatus
    create_date: int
    update_date: int
