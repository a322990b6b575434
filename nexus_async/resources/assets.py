"""``project.assets``: list, get, update and delete assets, and asset group statistics
(nexus-api.md §5). Uploads live in :mod:`nexus_async.uploads`."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Sequence

from typing_extensions import Unpack

from nexus_async._constants import (
    CHUNK_SIZE,
    DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_PAGE_LIMIT,
    DEFAULT_PART_CONCURRENCY,
    DEFAULT_UPLOAD_CONCURRENCY,
    MAX_ASSETS_PER_SESSION,
    MAX_PAGE_LIMIT,
    MULTIPART_THRESHOLD,
    UPLOADER_MAX_BYTES,
    UPLOADER_MAX_DELAY,
    UPLOADER_MAX_FILES,
    UPLOADER_MAX_PENDING,
)
from nexus_async._models import coerce_params
from nexus_async._pagination import Page, Pagination, iterate_pages, resolve_pagination
from nexus_async._transport import RequestOptions, Transport
from nexus_async.polling import PollSchedule
from nexus_async.resources._base import ProjectResource, require_id
from nexus_async.resources.operations import Operations
from nexus_async.types.assets import Asset, AssetFilter, AssetGroup, AssetUpdate
from nexus_async.types.common import DeleteResponse
from nexus_async.types.params import AssetFilterParams, AssetUpdateParams, PaginationParams
from nexus_async.uploads.asset_session import UploadProgress, UploadSession, check_groups
from nexus_async.uploads.rate_limit import OnRateLimit, SessionCreationLimits
from nexus_async.uploads.uploader import AssetUploader

__all__ = ["Assets"]


class Assets(ProjectResource):
    """The assets of a project. Example::

    page = await project.assets.list({"limit": 2})
    asset = await project.assets.get("boat180.png")
    await project.assets.update(asset.id, {"status": "Annotated"})
    async for asset in project.assets.iter(filters={"groups": ["main"]}):
        ...
    async with project.assets.create_upload_session(groups=["main"]) as session:
        await session.add_path("folder/of/images")
    """

    def __init__(
        self,
        transport: Transport,
        project_id: str,
        *,
        operations: Operations,
        creation_limits: SessionCreationLimits,
    ) -> None:
        super().__init__(transport, project_id)
        self._operations = operations
        self._creation_limits = creation_limits

    async def list(
        self,
        pagination: Pagination | PaginationParams | None = None,
        filters: AssetFilter | AssetFilterParams | None = None,
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
        filters: AssetFilter | AssetFilterParams | None = None,
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
        asset_meta: AssetUpdate | AssetUpdateParams,
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
        names = None if groups is None else check_groups(groups)
        return await self._transport.request(
            "GET",
            self._path("assetgroups"),
            cast_to=builtins.list[AssetGroup],
            query={"group": names},
            **options,
        )

    def create_uploader(
        self,
        groups: Sequence[str] | None = None,
        *,
        max_files: int = UPLOADER_MAX_FILES,
        max_bytes: int = UPLOADER_MAX_BYTES,
        max_delay: float = UPLOADER_MAX_DELAY,
        max_pending: int = UPLOADER_MAX_PENDING,
        max_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY,
        on_rate_limit: OnRateLimit = "wait",
        timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        poll_schedule: PollSchedule | None = None,
    ) -> AssetUploader:
        """A long-lived, task-safe uploader for services; use it with ``async with``.

        Concurrent ``upload_bytes``/``upload_path`` calls are coalesced into shared upload
        sessions, spaced so that steady traffic stays inside the server's limit of 15 session
        creations per 300 s; each call returns when its own file is stored and ingested.

        Args:
            groups: asset groups of every uploaded file (default ``["main"]``).
            max_files: a batch (one server session) takes at most this many files.
            max_bytes: a batch takes at most this many bytes (a larger lone file still goes).
            max_delay: seconds a file waits at most before its batch is sent (default 21 s,
                the session budget's spacing; a smaller value can meet the limit under load).
            max_pending: files waiting or in flight at once; further calls wait for room.
            max_concurrency: storage transfers in flight at once.
            on_rate_limit: ``"wait"`` (logged as a WARNING) or ``"raise"``
                :class:`~nexus_async.RateLimitError` for the files of a batch that would wait.
            timeout: seconds to wait for a batch's ingestion.
            poll_schedule: how often ingestion is checked.

        Example (a FastAPI lifespan)::

            @asynccontextmanager
            async def lifespan(app):
                async with AsyncClient() as client:
                    project = client.get_project(PROJECT_ID)
                    async with project.assets.create_uploader(groups=["api"]) as uploader:
                        app.state.uploader = uploader
                        yield

            stored = await app.state.uploader.upload_bytes(data, "frame-0001.jpg")
        """
        return AssetUploader(
            self._transport,
            self.project_id,
            operations=self._operations,
            creation_limits=self._creation_limits,
            groups=check_groups(groups),
            max_files=max_files,
            max_bytes=max_bytes,
            max_delay=max_delay,
            max_pending=max_pending,
            max_concurrency=max_concurrency,
            on_rate_limit=on_rate_limit,
            timeout=timeout,
            poll_schedule=poll_schedule,
        )

    def create_upload_session(
        self,
        groups: Sequence[str] | None = None,
        background: bool = False,
        *,
        max_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY,
        chunk_size: int = CHUNK_SIZE,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        part_concurrency: int = DEFAULT_PART_CONCURRENCY,
        batch_size: int = MAX_ASSETS_PER_SESSION,
        skip_existing: bool = False,
        progress: Callable[[UploadProgress], None] | None = None,
        timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        poll_schedule: PollSchedule | None = None,
        on_rate_limit: OnRateLimit = "wait",
    ) -> UploadSession:
        """A session that uploads (or replaces) assets; use it with ``async with``.

        Args:
            groups: asset groups of every uploaded file (default ``["main"]``).
            background: if False (default), leaving the block waits until the server has
                ingested every file; if True it returns once the bytes are sent, and
                ``session.get_operation_ids()`` / ``await session.wait_until_done()`` follow up.
            max_concurrency: storage transfers in flight at once.
            chunk_size: bytes per read when streaming large files.
            multipart_threshold: files larger than this go in parts (default 1 GiB).
            part_concurrency: parts of one multipart file in flight at once.
            batch_size: files per server session (at most 5 000).
            skip_existing: resume an interrupted upload: files the project already holds with
                the same name and size are not sent again. Their content is not compared (the
                API gives no checksum of an asset): a WARNING says how many were skipped, and
                ``session.skipped_unverified`` names them, so a file edited in place to the
                same size never keeps its old bytes silently.
            progress: called with an :class:`UploadProgress` after every file (and part).
            timeout: seconds to wait for ingestion in the foreground.
            poll_schedule: how often ingestion is checked.
            on_rate_limit: ``"wait"`` (default) waits when the upload-session limit (15 per
                300 s per project) is reached, with a WARNING log line and
                ``progress.rate_limit_wait`` set; ``"raise"`` raises
                :class:`~nexus_async.RateLimitError` (``retry_after`` = the wait) instead.

        Example::

            async with project.assets.create_upload_session(groups=["main"]) as session:
                await session.add_path("folder/path/to/files", custom_metadata={"key": "value"})
                await session.add_bytes(jpeg_bytes, "filename.jpg")
        """
        return UploadSession(
            self._transport,
            self.project_id,
            operations=self._operations,
            existing_assets=lambda: self.iter(limit=MAX_PAGE_LIMIT),
            get_asset=self.get,
            creation_limits=self._creation_limits,
            groups=groups,
            background=background,
            max_concurrency=max_concurrency,
            chunk_size=chunk_size,
            multipart_threshold=multipart_threshold,
            part_concurrency=part_concurrency,
            batch_size=batch_size,
            skip_existing=skip_existing,
            progress=progress,
            timeout=timeout,
            poll_schedule=poll_schedule,
            on_rate_limit=on_rate_limit,
        )
