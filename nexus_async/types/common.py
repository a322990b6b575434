"""Small models shared by several resources."""

from __future__ import annotations

from nexus_async._models import NexusModel

__all__ = ["CancelResponse", "DeleteResponse", "TagsCountItem"]


class DeleteResponse(NexusModel):
    """The answer to every delete: ``DeleteResponse(deleted=True, id='asset_...')``."""

    deleted: bool
    id: str | None = None


class CancelResponse(NexusModel):
    """The answer to cancelling an upload session."""

    cancelled: bool
    id: str | None = None


class TagsCountItem(NexusModel):
    """How many annotations carry one tag."""

    name: str
    count: int
