"""The asset upload session: ``async with project.assets.create_upload_session() as session``.

``add_path``/``add_bytes`` validate and describe files locally (type, size, CRC-32C, custom
metadata) and raise before anything is sent when a file is unfit. Leaving the block uploads
everything: batches of at most 5 000 files, one server session each (creation rate-limited
per client and project), files streamed to their signed URLs by a bounded pool of workers,
files over the multipart threshold sent in parts. In the foreground the block then waits until
the server has ingested every file.

A failure never passes silently (unlike the official SDK): a file that still fails after its
retries stops the upload, the server sessions not yet complete are cancelled, and one
:class:`~nexus_async.UploadError` lists every failed file with its cause. An exception or a
task cancellation inside or during the block cancels the open server sessions the same way.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from nexus_async._concurrency import for_each_bounded, map_bounded, rollback_on_failure
from nexus_async._constants import (
    ASSET_UPLOAD_CONNECTIONS_PER_CLIENT,
    CHUNK_SIZE,
    DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_PART_CONCURRENCY,
    DEFAULT_UPLOAD_CONCURRENCY,
    MAX_ASSETS_PER_SESSION,
    MULTIPART_THRESHOLD,
)
from nexus_async._exceptions import (
    FailedFile,
    InvalidInputError,
)
from nexus_async._transport import Transport
from nexus_async.polling import PollSchedule
from nexus_async.types.uploads import UploadSession as UploadSessionResponse
from nexus_async.types.uploads import UploadSessionAsset
from nexus_async.uploads.discovery import discover_asset_files
from nexus_async.uploads.files import LocalFile, describe_asset_bytes, describe_asset_path
from nexus_async.uploads.metadata import (
    FilenameRegistry,
    validate_custom_metadata,
    validate_positive_ints,
)
from nexus_async.uploads.mime import file_extension
from nexus_async.uploads.multipart import upload_multipart
from nexus_async.uploads.rate_limit import OnRateLimit, RateLimitWaits, SessionCreationLimits
from nexus_async.uploads.server_sessions import (
    cancel_server_sessions,
    create_server_session,
    project_is_rgbd,
    upload_poll_schedule,
)
from nexus_async.uploads.storage import StorageClient
from nexus_async.uploads.transfers import failures_as_upload_error, transfer_each

if TYPE_CHECKING:
    from nexus_async.resources.operations import Operations
    from nexus_async.types.assets import Asset
    from nexus_async.types.operations import Operation

__all__ = ["UploadProgress", "UploadSession"]

logger = logging.getLogger("nexus_async")

# Files described (stat, sniff, hash) at once; each occupies a worker thread while it reads.
DESCRIBE_CONCURRENCY = 8
# Server sessions (batches) transferring at once; storage transfers share one pool anyway.
BATCH_CONCURRENCY = 2
NIFTI_ORIENTATIONS = ("x", "y", "z")


@dataclasses.dataclass
class UploadProgress:
    """Where an upload stands; passed to the ``progress`` callback after every change.

    At the end ``files_done + files_skipped == files_total`` and ``bytes_done == bytes_total``
    (skipped files count as accounted-for bytes). ``rate_limit_wait`` is the length in seconds
    of a wait for the upload-session limit while one is under way, else None.
    """

    files_total: int = 0
    files_done: int = 0
    files_skipped: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    rate_limit_wait: float | None = None


def check_groups(groups: Sequence[str] | None) -> list[str]:
    """The asset groups to upload to (``["main"]`` by default), checked."""
    if groups is None:
        return ["main"]
    if isinstance(groups, str) or not all(isinstance(g, str) and g.strip() for g in groups):
        raise InvalidInputError(f"groups must be a list of non-empty names, got {groups!r}")
    if not groups:
        raise InvalidInputError("groups must name at least one asset group")
    return list(groups)


def _check_orientation(orientation: str | None, filenames: Sequence[str]) -> None:
    if orientation is None:
        return
    if orientation not in NIFTI_ORIENTATIONS:
        raise InvalidInputError(f"nifti_orientation must be one of x, y, z; got {orientation!r}")
    for name in filenames:
        if file_extension(name) not in (".nii", ".nii.gz"):
            raise InvalidInputError(f"nifti_orientation applies to NIfTI files only, not {name}")


class UploadSession:
    """Uploads assets to a project. Made by ``project.assets.create_upload_session(...)``.

    Example::

        async with project.assets.create_upload_session(groups=["main"]) as session:
            await session.add_path("folder/of/images", custom_metadata={"site": "A"})
            await session.add_bytes(jpeg_bytes, "cam1-0001.jpg", custom_metadata={"camera": 1})
        # here every file is uploaded and (in the foreground) ingested, or an error was raised
    """

    def __init__(
        self,
        transport: Transport,
        project_id: str,
        *,
        operations: Operations,
        existing_assets: Callable[[], AsyncIterator[Asset]],
        creation_limits: SessionCreationLimits,
        groups: Sequence[str] | None = None,
        background: bool = False,
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
    ) -> None:
        validate_positive_ints(
            max_concurrency=max_concurrency,
            chunk_size=chunk_size,
            multipart_threshold=multipart_threshold,
            part_concurrency=part_concurrency,
            batch_size=batch_size,
        )
        if batch_size > MAX_ASSETS_PER_SESSION:
            raise InvalidInputError(f"batch_size is at most {MAX_ASSETS_PER_SESSION}")
        self.groups = check_groups(groups)
        self.background = background
        self.max_concurrency = max_concurrency
        self.chunk_size = chunk_size
        self.multipart_threshold = multipart_threshold
        self.part_concurrency = part_concurrency
        self.batch_size = batch_size
        self.skip_existing = skip_existing
        self.progress = UploadProgress()
        self._on_progress = progress
        self._timeout = timeout
        self._poll_schedule = upload_poll_schedule(poll_schedule)
        self._transport = transport
        self._project_id = project_id
        self._operations = operations
        self._existing_assets = existing_assets
        self._creation_limits = creation_limits
        self._rate_limit_waits = RateLimitWaits(project_id, on_rate_limit, self._report_wait)
        self._files: list[LocalFile] = []
        self._names = FilenameRegistry()
        self._operation_ids: list[str] = []
        self._open_sessions: list[str] = []
        self._failed: list[FailedFile] = []
        self._rgbd = False
        self._state = "new"

    def __repr__(self) -> str:
        return (
            f"UploadSession(project_id={self._project_id!r}, groups={self.groups!r}, "
            f"files={len(self._files)}, state={self._state!r})"
        )

    def __len__(self) -> int:
        return len(self._files)

    def get_operation_ids(self) -> list[str]:
        """One operation id per server session (5 000 files each), once the files are sent."""
        return list(self._operation_ids)

    async def wait_until_done(self, timeout: float | None = None) -> list[Operation]:
        """Wait until the server has ingested every file (for ``background=True`` sessions).

        Raises OperationFailedError / OperationCancelledError / OperationTimeoutError.
        """
        return await self._operations.wait_all(
            self._operation_ids,
            self._timeout if timeout is None else timeout,
            schedule=self._poll_schedule,
        )

    # --- adding files ---------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._state != "open":
            raise InvalidInputError(
                "add files inside `async with project.assets.create_upload_session(...) as "
                f"session:` (this session is {self._state})"
            )

    def _check_new_names(self, filenames: Sequence[str]) -> None:
        seen: set[str] = set()
        for name in filenames:
            if name in self._names or name in seen:
                self._names.add(name)  # raises DuplicateFilenameError naming the file
            seen.add(name)

    def _accept(self, files: Sequence[LocalFile]) -> None:
        # Checked again with no await before the names are taken: two concurrent add_* calls
        # with a name in common cannot both pass, and a refusal leaves nothing half-added.
        self._check_new_names([file.filename for file in files])
        for file in files:
            self._names.add(file.filename)
        self._files.extend(files)

    async def add_path(
        self,
        file_path: str | os.PathLike[str],
        custom_metadata: dict[str, object] | None = None,
        nifti_orientation: str | None = None,
    ) -> None:
        """Add a file, or every supported asset file below a folder (recursively).

        Every file is checked before any is accepted: a missing path, an empty folder, an
        unsupported or disguised file, a file over its size limit, a name already in the
        session, or invalid ``custom_metadata`` raises a typed error and adds nothing.
        ``nifti_orientation`` (``x``, ``y`` or ``z``) is checked and accepted for NIfTI files
        only; the volumes are uploaded as they are (``application/x-nifti``), not converted to
        per-axis videos locally as older official SDKs did.
        """
        self._require_open()
        validate_custom_metadata(custom_metadata)
        paths = await discover_asset_files(file_path, rgbd=self._rgbd)
        names = [path.name for path in paths]
        _check_orientation(nifti_orientation, names)
        self._check_new_names(names)

        async def describe(path: os.PathLike[str]) -> LocalFile:
            return await describe_asset_path(
                path,
                rgbd=self._rgbd,
                custom_metadata=custom_metadata,
                chunk_size=self.chunk_size,
                hash_max_size=self.multipart_threshold,  # parts are announced with crc32c 0
            )

        self._accept(await map_bounded(paths, describe, limit=DESCRIBE_CONCURRENCY))

    async def add_bytes(
        self,
        file_bytes: bytes,
        filename: str,
        custom_metadata: dict[str, object] | None = None,
        nifti_orientation: str | None = None,
    ) -> None:
        """Add in-memory file bytes; ``filename`` must carry the extension of its type."""
        self._require_open()
        _check_orientation(nifti_orientation, [filename])
        file = await describe_asset_bytes(
            file_bytes, filename, rgbd=self._rgbd, custom_metadata=custom_metadata
        )
        self._check_new_names([file.filename])
        self._accept([file])

    # --- the context manager ---------------------------------------------------------------

    async def __aenter__(self) -> UploadSession:
        if self._state != "new":
            raise InvalidInputError("an upload session can be entered only once")
        self._rgbd = await project_is_rgbd(self._transport, self._project_id)
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._state = "closed"
        if exc is not None:
            return  # nothing was sent yet: the error propagates as it is
        if not self._files:
            raise InvalidInputError("Assets to upload is empty: add files before leaving")
        async with rollback_on_failure(
            self._cancel_open_sessions, describe="cancel the upload sessions"
        ):
            await self._upload_all()
        if not self.background:
            await self.wait_until_done()

    # --- uploading -------------------------------------------------------------------------

    def _report(self, *, files: int = 0, skipped: int = 0, size: int = 0) -> None:
        self.progress.files_done += files
        self.progress.files_skipped += skipped
        self.progress.bytes_done += size
        if self._on_progress is not None:
            self._on_progress(self.progress)

    def _report_wait(self, seconds: float | None) -> None:
        if self.progress.rate_limit_wait != seconds:
            self.progress.rate_limit_wait = seconds
            if self._on_progress is not None:
                self._on_progress(self.progress)

    async def _without_existing(self, files: list[LocalFile]) -> list[LocalFile]:
        sizes = {
            asset.filename: asset.metadata.file_size async for asset in self._existing_assets()
        }
        missing = [f for f in files if sizes.get(f.filename) != f.size]
        skipped = len(files) - len(missing)
        if skipped:
            logger.info("Skipping %d file(s) the project already holds", skipped)
            skipped_bytes = sum(f.size for f in files) - sum(f.size for f in missing)
            self._report(skipped=skipped, size=skipped_bytes)  # accounted for, like sent bytes
        return missing

    async def _upload_all(self) -> None:
        self.progress.files_total = len(self._files)
        self.progress.bytes_total = sum(f.size for f in self._files)
        files = await self._without_existing(self._files) if self.skip_existing else self._files
        batches = [files[i : i + self.batch_size] for i in range(0, len(files), self.batch_size)]
        storage = StorageClient(
            max_connections=self.max_concurrency,
            connections_per_client=ASSET_UPLOAD_CONNECTIONS_PER_CLIENT,
            chunk_size=self.chunk_size,
        )
        with failures_as_upload_error(
            self._failed,
            "{count} file(s) failed to upload; the upload was stopped and its unfinished "
            "server sessions cancelled",
        ):
            async with storage:
                await for_each_bounded(
                    batches,
                    lambda batch: self._upload_batch(storage, batch),
                    limit=BATCH_CONCURRENCY,
                )

    def _is_multipart(self, file: LocalFile) -> bool:
        return file.size > self.multipart_threshold and file.path is not None

    async def _create_server_session(self, batch: list[LocalFile]) -> UploadSessionResponse:
        return await create_server_session(
            self._transport,
            self._project_id,
            groups=self.groups,
            files=batch,
            is_multipart=self._is_multipart,
            limits=self._creation_limits,
            waits=self._rate_limit_waits,
            on_created=self._open_sessions.append,
        )

    async def _upload_batch(self, storage: StorageClient, batch: list[LocalFile]) -> None:
        session = await self._create_server_session(batch)

        async def transfer(pair: tuple[LocalFile, UploadSessionAsset]) -> None:
            file, target = pair
            if self._is_multipart(file):
                await upload_multipart(
                    self._transport,
                    storage,
                    project_id=self._project_id,
                    session_id=session.id,
                    file=file,
                    part_concurrency=self.part_concurrency,
                    on_bytes=lambda size: self._report(size=size),
                )
                self._report(files=1)
            else:
                upload = target.upload
                await storage.send_local_file(upload.method, upload.url, upload.headers, file)
                self._report(files=1, size=file.size)

        await transfer_each(
            zip(batch, session.assets, strict=True),
            transfer,
            limit=self.max_concurrency,
            filename=lambda pair: pair[0].filename,
            failed=self._failed,
        )
        self._open_sessions.remove(session.id)
        self._operation_ids.append(session.op_id)

    async def _cancel_open_sessions(self) -> None:
        """Cancel every server session whose files were not all sent."""
        open_sessions, self._open_sessions = self._open_sessions, []
        await cancel_server_sessions(self._transport, self._project_id, open_sessions)
