"""``project.annotations``: list, create, get and delete annotations (nexus-api.md §8),
exports and their download (§9), annotation import sessions (§10). The transfers themselves
live in :mod:`nexus_async.uploads` (``import_session``, ``export_download``)."""

from __future__ import annotations

import builtins
import os
from collections.abc import AsyncIterator

import anyio
from typing_extensions import Unpack

from nexus_async._constants import (
    DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_PAGE_LIMIT,
    DEFAULT_UPLOAD_CONCURRENCY,
    MAX_IMPORT_FILES_PER_SESSION,
)
from nexus_async._exceptions import (
    APIResponseError,
    InvalidInputError,
    OperationCancelledError,
    OperationFailedError,
    OperationNotFinishedError,
)
from nexus_async._models import coerce_params
from nexus_async._pagination import Page, Pagination, iterate_pages, resolve_pagination
from nexus_async._transport import RequestOptions, Transport
from nexus_async._validation import check_path
from nexus_async.polling import PollSchedule
from nexus_async.resources._base import ProjectResource, require_id
from nexus_async.resources.operations import Operations
from nexus_async.types.annotations import Annotation, AnnotationFilter, AnnotationMetadata
from nexus_async.types.assets import Asset
from nexus_async.types.common import DeleteResponse
from nexus_async.types.exports import (
    AnnotationExportMetadata,
    ExportedAnnotations,
    LocalAnnotations,
)
from nexus_async.types.imports import ImportSessionInfo, ImportSessionLog
from nexus_async.types.operations import Operation
from nexus_async.types.params import (
    AnnotationExportParams,
    AnnotationFilterParams,
    AnnotationParams,
    PaginationParams,
)
from nexus_async.uploads.export_download import ArchiveLimits, download_and_extract
from nexus_async.uploads.import_session import ImportSession
from nexus_async.uploads.storage import storage_for

__all__ = ["Annotations"]


class Annotations(ProjectResource):
    """The annotations of a project. Example::

    page = await project.annotations.list(filters={"asset_ids": [asset.id]})
    created = await project.annotations.create({
        "asset_id": asset.id, "tag": "boat", "bound_type": "Rectangle",
        "bound": [[0.1, 0.1], [0.1, 0.2], [0.2, 0.2], [0.2, 0.1]],
    })
    op = await project.annotations.create_export(
        {"format": "coco", "options": {"split_ratio": 0, "seed": 1337}})
    local = await project.annotations.download_exported_file(op.id, "exports/")
    async with project.annotations.create_import_session() as session:
        await session.add_path("labels/")
    """

    def __init__(self, transport: Transport, project_id: str, *, operations: Operations) -> None:
        super().__init__(transport, project_id)
        self._operations = operations

    async def list(
        self,
        pagination: Pagination | PaginationParams | None = None,
        filters: AnnotationFilter | AnnotationFilterParams | None = None,
        include_attributes: bool = False,
        *,
        page: str | None = None,
        limit: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[Annotation]:
        """One page of annotations, of the whole project or of ``filters["asset_ids"]``."""
        if isinstance(pagination, Asset):
            raise InvalidInputError(
                "annotations.list() takes pagination first, not an Asset: to list the "
                "annotations of an asset, write "
                f'annotations.list(filters={{"asset_ids": ["{pagination.id}"]}})'
            )
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
        filters: AnnotationFilter | AnnotationFilterParams | None = None,
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
        annotation: AnnotationMetadata | AnnotationParams,
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

    # --- exports (nexus-api.md §9) ---------------------------------------------------------

    async def create_export(
        self,
        export_metadata: AnnotationExportMetadata | AnnotationExportParams,
        background: bool = False,
        *,
        wait_timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        poll_schedule: PollSchedule | None = None,
        **options: Unpack[RequestOptions],
    ) -> Operation:
        """Export every annotation of the project in ``format``; return the operation.

        ``export_metadata`` is ``{"format": ..., "options": {"split_ratio", "seed",
        "normalized"}}`` (or an ``AnnotationExportMetadata``); ``options`` and each option are
        optional (split_ratio 0.0: no validation split; seed 1337; normalized True). It is
        checked before anything is sent, and sent as given: unlike the official SDK no
        project pre-flight rewrites ``split_ratio``. In the foreground (default) the call waits
        until the export is ``Finished`` (``Errored`` raises OperationFailedError, and after
        ``wait_timeout`` seconds OperationTimeoutError; ``timeout``/``max_retries`` apply to
        the POST itself); with ``background=True`` it returns the operation as created.

        Example::

            op = await project.annotations.create_export(
                {"format": "csv_fourcorner",
                 "options": {"split_ratio": 0.5, "seed": 1337, "normalized": True}})
            local = await project.annotations.download_exported_file(op.id, "exports/")
        """
        body = coerce_params(AnnotationExportMetadata, export_metadata).to_wire()
        operation = await self._transport.request(
            "POST", self._path("annotationexports"), cast_to=Operation, body=body, **options
        )
        if background:
            return operation
        return await self._operations.wait_until_done(
            operation.id, wait_timeout, schedule=poll_schedule
        )

    async def get_export(
        self, op_id: str, **options: Unpack[RequestOptions]
    ) -> ExportedAnnotations:
        """An export's state, with its signed download link once it is ``Finished``.

        Example::

            export = await project.annotations.get_export(op.id)
            export.status, export.download and export.download.url
        """
        require_id(op_id, "op_id")
        return await self._transport.request(
            "GET", self._path("annotationexports", op_id), cast_to=ExportedAnnotations, **options
        )

    async def download_exported_file(
        self,
        op_id: str,
        path: str | os.PathLike[str] = ".",
        *,
        limits: ArchiveLimits | None = None,
    ) -> LocalAnnotations:
        """Download a finished export and extract it into ``path`` (created if missing).

        The ZIP is streamed to disk, every entry is checked before any is extracted (absolute
        paths, ``..``, symbolic links, duplicates and file/folder clashes are refused with
        ArchiveError, as is a corrupt archive), the download and the archive are bounded by
        ``limits`` (:class:`~nexus_async.ArchiveLimits`: bytes downloaded, entries, total
        uncompressed size, compression ratio, name length; ArchiveError names the limit
        exceeded), and a failure leaves no partial files. An export still
        ``Queued``/``Running`` raises OperationNotFinishedError; an ``Errored`` one
        OperationFailedError.

        Example::

            local = await project.annotations.download_exported_file(op.id, "exports/")
            local.download_path, local.file_names  # "exports/", ["<key>/train.csv", ...]
        """
        require_id(op_id, "op_id")
        if limits is not None and not isinstance(limits, ArchiveLimits):
            raise InvalidInputError(f"limits must be an ArchiveLimits, got {limits!r}")
        target = await anyio.Path(check_path("path", path)).expanduser()
        if await target.is_file():
            raise InvalidInputError(f"'{path}' is a file; give the folder to extract into")
        export = await self.get_export(op_id)
        if export.status in ("Queued", "Running"):
            raise OperationNotFinishedError(
                f"Export {op_id} is still {export.status}: wait for it "
                "(`await project.operations.wait_until_done(op_id)`) and download it then",
                operation_id=op_id,
                operation=export,
            )
        if export.status == "Cancelled":
            raise OperationCancelledError(
                f"Export {op_id} was cancelled; there is nothing to download",
                operation_id=op_id,
                operation=export,
            )
        if export.status != "Finished":
            raise OperationFailedError(
                f"Export {op_id} ended {export.status}; there is nothing to download",
                operation_id=op_id,
                operation=export,
            )
        if export.download is None or export.download.method.upper() != "GET":
            raise APIResponseError(f"Export {op_id} is Finished but has no GET download link")
        async with storage_for(self._transport, max_connections=1) as storage:
            return await download_and_extract(
                export.download.url, path, storage=storage, limits=limits
            )

    # --- import sessions (nexus-api.md §10) --------------------------------------------------

    def create_import_session(
        self,
        background: bool = False,
        *,
        max_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY,
        max_files: int = MAX_IMPORT_FILES_PER_SESSION,
        timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        poll_schedule: PollSchedule | None = None,
    ) -> ImportSession:
        """A session that imports annotation files; use it with ``async with``. No I/O until
        the block is entered.

        Args:
            background: if False (default), leaving the block waits until the server has
                processed the files (``Errored`` raises AnnotationImportError with the log
                lines); if True it returns once the files are sent (then
                ``await session.wait_until_done()``).
            max_concurrency: storage transfers in flight at once.
            max_files: files per session (1 000, the user docs' limit).
            timeout: seconds to wait for processing in the foreground.
            poll_schedule: how often processing is checked.

        An exception (or cancellation) inside the block marks the server session failed and
        propagates. Example::

            async with project.annotations.create_import_session() as session:
                await session.add_path("labels/")
                await session.add_bytes(csv_bytes, "extra.csv")
            logs = await session.get_logs()
        """
        return ImportSession(
            self._transport,
            self.project_id,
            background=background,
            max_concurrency=max_concurrency,
            max_files=max_files,
            timeout=timeout,
            poll_schedule=poll_schedule,
        )

    async def list_import_sessions(
        self, **options: Unpack[RequestOptions]
    ) -> builtins.list[ImportSessionInfo]:
        """Every annotation import session of the project (not paginated).

        Example::

            for state in await project.annotations.list_import_sessions():
                print(state.id, state.status.overview)
        """
        return await self._transport.request(
            "GET",
            self._path("annotationimportsessions"),
            cast_to=builtins.list[ImportSessionInfo],
            **options,
        )

    async def get_import_session(
        self, import_session_id: str, **options: Unpack[RequestOptions]
    ) -> ImportSessionInfo:
        """One import session's status and counts.

        Example::

            state = await project.annotations.get_import_session("annotsess_...")
        """
        require_id(import_session_id, "import_session_id")
        return await self._transport.request(
            "GET",
            self._path("annotationimportsessions", import_session_id),
            cast_to=ImportSessionInfo,
            **options,
        )

    async def get_import_session_logs(
        self, import_session_id: str, **options: Unpack[RequestOptions]
    ) -> ImportSessionLog:
        """One import session's log lines (empty when nothing went wrong).

        Example::

            logs = await project.annotations.get_import_session_logs("annotsess_...")
        """
        require_id(import_session_id, "import_session_id")
        return await self._transport.request(
            "GET",
            self._path("annotationimportsessions", import_session_id, "logs"),
            cast_to=ImportSessionLog,
            **options,
        )
