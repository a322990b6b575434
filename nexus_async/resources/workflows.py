"""``project.workflows``: list, get, update and delete workflows (nexus-api.md §12)."""

from __future__ import annotations

from typing_extensions import Unpack

from nexus_async._models import coerce_params
from nexus_async._transport import RequestOptions
from nexus_async.resources._base import ProjectResource, require_id
from nexus_async.types.common import DeleteResponse
from nexus_async.types.params import FlowParams
from nexus_async.types.workflows import FlowMetadata, Workflow

__all__ = ["Workflows"]


class Workflows(ProjectResource):
    """The workflows of a project. Example::

    flows = await project.workflows.list()
    await project.workflows.update(flows[0].id, {"title": "My awesome workflow"})
    """

    async def list(self, **options: Unpack[RequestOptions]) -> list[Workflow]:
        """All workflows of the project."""
        return await self._transport.request(
            "GET", self._path("workflows"), cast_to=list[Workflow], **options
        )

    async def get(self, flow_id: str, **options: Unpack[RequestOptions]) -> Workflow:
        """One workflow by id."""
        require_id(flow_id, "flow_id")
        return await self._transport.request(
            "GET", self._path("workflows", flow_id), cast_to=Workflow, **options
        )

    async def update(
        self,
        flow_id: str,
        flow: FlowMetadata | FlowParams,
        **options: Unpack[RequestOptions],
    ) -> Workflow:
        """Change a workflow's title: ``{"title": ...}`` or ``FlowMetadata(title=...)``."""
        require_id(flow_id, "flow_id")
        body = coerce_params(FlowMetadata, flow).to_wire()
        return await self._transport.request(
            "PATCH", self._path("workflows", flow_id), cast_to=Workflow, body=body, **options
        )

    async def delete(self, flow_id: str, **options: Unpack[RequestOptions]) -> DeleteResponse:
        """Delete a workflow, permanently."""
        require_id(flow_id, "flow_id")
        return await self._transport.request(
            "DELETE", self._path("workflows", flow_id), cast_to=DeleteResponse, **options
        )
