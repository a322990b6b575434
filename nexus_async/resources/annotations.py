"""``project.annotations``: list, create, get and delete annotations (nexus-api.md §8).
Exports and import sessions are added by :mod:`nexus_async.uploads`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from typing_extensions import Unpack

from nexus_async._constants import DEFAULT_PAGE_LIMIT
from nexus_async._models import coerce_params
from nexus_async._pagination import Page, Pagination, iterate_pages, resolve_pagination
from nexus_async._transport import RequestOptions
from nexus_async.resources._base import ProjectResource, require_id
from nexus_async.types.annotations import Annotation, AnnotationFilter, AnnotationMetadata
from nexus_async.types.common import DeleteResponse

__all__ = ["Annotations"]


class Annotations(ProjectResource):
    """The annotations of a project. Example::

    page = await project.annotations.list(filters={"asset_ids": [asset.id]})
    created = await project.annotations.create({
        "asset_id": asset.id, "tag": "boat", "bound_type": "Rectangle",
        "bound": [[0.1, 0.1], [0.1, 0.2], [0.2, 0.2], [0.2, 0.1]],
    })
    """

    async def list(
        self,
        pagination: Pagination | Mapping[str, Any] | None = None,
        filters: AnnotationFilter | Mapping[str, Any] | None = None,
        include_attributes: bool = False,
        *,
        page: str | None = None,
        limit: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[Annotation]:
        """One page of annotations, of the whole project or of ``filters["asset_ids"]``."""
        query = {
            **resolve_pagination(
                pagination, page=page, limit=limit, default_limit=DEFAULT_PAGE_LIMIT
            ),
            "assetId": coerce_params(AnnotationFilter, filters).asset_ids,
            "includeAttributes": bool(include_attributes),
        }
        return await self._transport.request(
            "GET", self._path("annotations"), cast_to=Page[Annotation], query=query, **options
        )

    def iter(
        self,
        filters: AnnotationFilter | Mapping[str, Any] | None = None,
        include_attributes: bool = False,
        *,
        limit: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[Annotation]:
        """Every annotation matching ``filters``, fetching pages lazily."""
        coerce_params(AnnotationFilter, filters)
        return iterate_pages(
            lambda cursor: self.list(
                None, filters, include_attributes, page=cursor, limit=limit, **options
            )
        )

    async def create(
        self,
        annotation: AnnotationMetadata | Mapping[str, Any],
        **options: Unpack[RequestOptions],
    ) -> Annotation:
        """Create one annotation and return it (one object, not a list)."""
        body = coerce_params(AnnotationMetadata, annotation).to_wire()
        return await self._transport.request(
            "POST", self._path("annotations"), cast_to=Annotation, body=body, **options
        )

    async def get(
        self,
        annotation_id: str,
        include_attributes: bool = False,
        **options: Unpack[RequestOptions],
    ) -> Annotation:
        """One annotation by id."""
        require_id(annotation_id, "annotation_id")
        return await self._transport.request(
            "GET",
            self._path("annotations", annotation_id),
            cast_to=Annotation,
            query={"includeAttributes": bool(include_attributes)},
            **options,
        )

    async def delete(self, annotation_id: str, **options: Unpack[RequestOptions]) -> DeleteResponse:
        """Delete an annotation, permanently."""
        require_id(annotation_id, "annotation_id")
        return await self._transport.request(
            "DELETE", self._path("annotations", annotation_id), cast_to=DeleteResponse, **options
        )
