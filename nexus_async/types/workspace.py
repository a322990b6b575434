"""The workspace of the secret key (nexus-api.md §4.1)."""

from __future__ import annotations

from nexus_async._models import NexusModel

__all__ = ["Workspace"]


class Workspace(NexusModel):
    """The workspace of the secret key: id, name, owner, tier and create date."""

    id: str
    name: str
    owner: str
    tier: str
    create_date: int
