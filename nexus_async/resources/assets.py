"""``project.assets``: list, get, update and delete assets, and asset group statistics
(nexus-api.md §5). Uploads live in :mod:`nexus_async.uploads`."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from typing_extensions import Unpack

from nexus_async._constants import DEFAULT_PAGE_LIMIT
from nexus_async._models import coerce_params
from nexus_async._pagination import Page, Pagination, iterate_pages, resolve_pagination
from nexus_async._transport import RequestOptions
from nexus_async.resources._base import ProjectResource, require_id
from nexus_async.types.assets import Asset, AssetFilter, AssetGroup, AssetUpdate
from nexus_async.types.common import DeleteResponse

__all__ = ["Assets"]


class Assets(ProjectResource):
    """The assets of a project. Example::

    page = await project.assets.list({"limit": 2})
    asset = await project.assets.get("boat180.png")
    await project.assets.update(asset.id, {"status": "Annotated"})
    async for asset in project.assets.iter(filters={"groups": ["main"]}):
        ...
    """

    async def list(
        self,
        pagination: Pagination | Mapping[str, Any] | None = None,
        filters: AssetFilter | Mapping[str, Any] | None = None,
        *,
        page: str | None = None,
        limit: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[Asset]:
        """One page of assets (100 by default). ``pagination`` is ``{"page", "limit"}`` (or the
        ``page``/``limit`` keywords); ``filters`` any of ``groups``, ``filename``,
        ``metadata_query``, ``status``, ``asset_filter``."""
        query = {
            **resolve_pagination(
                pagination, page=page, limit=limit, default_limit=DEFAULT_PAGE_LIMIT
            ),
            **coerce_params(AssetFilter, filters).to_query(),
        }
        return await self._transport.request(
            "GET", self._path("assets"), cast_to=Page[Asset], query=query, **options
        )

    def iter(
        self,
        filters: AssetFilter | Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[Asset]:
        """Every asset matching ``filters``, fetching pages of ``limit`` lazily."""
        coerce_params(AssetFilter, filters)  # refuse bad filters now, not at the first page
        return iterate_pages(
            lambda cursor: self.list(None, filters, page=cursor, limit=limit, **options)
        )

    async def get(self, asset_id_or_name: str, **options: Unpack[RequestOptions]) -> Asset:
        """One asset, by id or by file name."""
        require_id(asset_id_or_name, "asset_id_or_name")
        return await self._transport.request(
            "GET", self._path("assets", asset_id_or_name), cast_to=Asset, **options
        )

    async def update(
        self,
        asset_id_or_name: str,
        asset_meta: AssetUpdate | Mapping[str, Any],
        **options: Unpack[RequestOptions],
    ) -> Asset:
        """Change an asset's ``status``, ``custom_metadata`` (replaces the map) or ``groups``."""
        require_id(asset_id_or_name, "asset_id_or_name")
        body = coerce_params(AssetUpdate, asset_meta).to_wire()
        return await self._transport.request(
            "PATCH", self._path("assets", asset_id_or_name), cast_to=Asset, body=body, **options
        )

    async def delete(
        self, asset_id_or_name: str, **options: Unpack[RequestOptions]
    ) -> DeleteResponse:
        """Delete an asset and its annotations, permanently."""
        require_id(asset_id_or_name, "asset_id_or_name")
        return await self._transport.request(
            "DELETE", self._path("assets", asset_id_or_name), cast_to=DeleteResponse, **options
        )

    async def list_groups(
        self, groups: Sequence[str] | None = None, **options: Unpack[RequestOptions]
    ) -> builtins.list[AssetGroup]:
        """Asset counts per group, for ``groups`` or for every group."""
        names = None if groups is None else [require_id(group, "group") for group in groups]
        return await self._transport.request(
            "GET",
            self._path("assetgroups"),
            cast_to=builtins.list[AssetGroup],
            query={"group": names},
            **options,
        )
