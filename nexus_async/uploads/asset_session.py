"""The asset upload session: ``async with project.assets.create_upload_session() as session``.

``add_path``/``add_bytes`` validate and describe files locally (type, size, CRC-32C, custom
metadata) and raise before anything is sent when a file is unfit. Leaving the block uploads
everything: batches of at most 5 000 files, one server session each (creation rate-limited
per client and project), files streamed to their signed URLs by a bounded pool of workers,
files over the multipart threshold sent in parts. In the foreground the block then waits until
the server has ingested every file.

DICOM and NIfTI files are converted locally to PNG/MP4 assets as the documentation describes
(``uploads/medical.py`` says what becomes what; it needs the ``[medical]`` extra); a NIfTI
volume is uploaded as it is with ``nifti_as_volume=True``. The converted files live in a
temporary folder that leaving the block removes, whatever way it is left.

A failure never passes silently (unlike the official SDK): a file that still fails after its
retries stops the upload, the server sessions not yet complete are cancelled, and one
:class:`~nexus_async.UploadError` lists every failed file with its cause. An exception or a
task cancellation inside or during the block cancels the open server sessions the same way.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
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
    SNIFF_HEAD_SIZE,
)
from nexus_async._exceptions import (
    FailedFile,
    InvalidInputError,
    NotFoundError,
    UnsupportedFileError,
    UploadError,
)
from nexus_async._transport import Transport
from nexus_async._validation import check_bool, check_bytes, check_seconds
from nexus_async.polling import PollSchedule
from nexus_async.types.uploads import UploadSession as UploadSessionResponse
from nexus_async.types.uploads import UploadSessionAsset
from nexus_async.uploads.conversions import MedicalConverter, medical_stem, require_medical_extra
from nexus_async.uploads.discovery import discover_asset_files
from nexus_async.uploads.files import LocalFile, describe_asset_bytes, describe_asset_path
from nexus_async.uploads.metadata import (
    FilenameRegistry,
    validate_custom_metadata,
    validate_filename,
    validate_positive_ints,
)
from nexus_async.uploads.mime import DicomFileError, MedicalFormat, file_extension, medical_format
from nexus_async.uploads.multipart import upload_multipart
from nexus_async.uploads.rate_limit import OnRateLimit, RateLimitWaits, SessionCreationLimits
from nexus_async.uploads.server_sessions import (
    cancel_server_sessions,
    create_server_session,
    project_is_rgbd,
    upload_poll_schedule,
    wait_until_processed,
)
from nexus_async.uploads.storage import StorageClient
from nexus_async.uploads.transfers import failures_as_upload_error, notify, transfer_each

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


def _check_orientation(
    orientation: str | None, filenames: Sequence[str], *, as_volume: bool
) -> tuple[str, ...]:
    """The axes to make videos of (all three by default), once the options are checked."""
    if orientation is None:
        return NIFTI_ORIENTATIONS
    if orientation not in NIFTI_ORIENTATIONS:
        raise InvalidInputError(f"nifti_orientation must be one of x, y, z; got {orientation!r}")
    if as_volume:
        raise InvalidInputError(
            "nifti_orientation picks the axis video to make; with nifti_as_volume=True the "
            "volume is uploaded as it is, so give one or the other"
        )
    for name in filenames:
        if file_extension(name) not in (".nii", ".nii.gz"):
            raise InvalidInputError(f"nifti_orientation applies to NIfTI files only, not {name}")
    return (orientation,)


def _conversion(name: str, head: bytes | None, *, as_volume: bool) -> MedicalFormat | None:
    """How a file is converted before upload (None: uploaded as it is)."""
    kind = medical_format(name, head)
    return None if kind is MedicalFormat.NIFTI and as_volume else kind


def _converted_names(name: str, kind: MedicalFormat | None, axes: Sequence[str]) -> list[str]:
    """The asset names a file gives, when known before converting it (DICOM: after)."""
    if kind is None:
        return [name]
    if kind is MedicalFormat.NIFTI:
        return [f"{medical_stem(name)}-{axis}.mp4" for axis in axes]
    return []


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
        get_asset: Callable[[str], Awaitable[Asset]],
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
        if progress is not None and not callable(progress):
            raise InvalidInputError(
                f"progress must be a callable taking an UploadProgress, got {progress!r}"
            )
        self.groups = check_groups(groups)
        self.background = check_bool("background", background)
        self.max_concurrency = max_concurrency
        self.chunk_size = chunk_size
        self.multipart_threshold = multipart_threshold
        self.part_concurrency = part_concurrency
        self.batch_size = batch_size
        self.skip_existing = check_bool("skip_existing", skip_existing)
        # Files skipped on resume by name and size alone (their content was not compared).
        self.skipped_unverified: list[str] = []
        self.progress = UploadProgress()
        self._on_progress = progress
        self._timeout = check_seconds("timeout", timeout)
        self._poll_schedule = upload_poll_schedule(poll_schedule)
        self._transport = transport
        self._project_id = project_id
        self._operations = operations
        self._existing_assets = existing_assets
        self._get_asset = get_asset
        self._creation_limits = creation_limits
        self._rate_limit_waits = RateLimitWaits(project_id, on_rate_limit, self._report_wait)
        self._files: list[LocalFile] = []
        self._names = FilenameRegistry()
        self._operation_ids: list[str] = []
        self._open_sessions: list[str] = []
        self._failed: list[FailedFile] = []
        self._rgbd = False
        self._state = "new"
        self._converter = MedicalConverter()

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
        *,
        nifti_as_volume: bool = False,
    ) -> None:
        """Add a file, or every supported asset file below a folder (recursively).

        Every file is checked before any is accepted: a missing path, an empty folder, an
        unsupported or disguised file, a file over its size limit, a name already in the
        session, or invalid ``custom_metadata`` raises a typed error and adds nothing.

        Medical files are converted here, in a worker thread, one at a time (needs
        ``pip install "nexus-async[medical]"``, else :class:`~nexus_async.MissingExtraError`):
        a DICOM file (``.dcm``, or DICOM content) becomes ``{stem}.png`` (one frame) or
        ``{stem}.mp4`` (several); a NIfTI volume (``.nii``, ``.nii.gz``) becomes
        ``{stem}-x.mp4``, ``{stem}-y.mp4`` and ``{stem}-z.mp4``, or only the axis given as
        ``nifti_orientation`` (``"x"``, ``"y"`` or ``"z"``). ``custom_metadata`` goes with each
        asset made. ``nifti_as_volume=True`` uploads NIfTI volumes as they are, as one 3-D asset
        each (``application/x-nifti``, ``application/x-nifti-gz``). A file that cannot be
        converted (corrupt, truncated, 2-D, without pixel data) raises
        :class:`~nexus_async.UnsupportedFileError` before anything is sent.

        Example::

            await session.add_path("scans/")                          # DICOM, NIfTI, images...
            await session.add_path("brain.nii.gz", nifti_orientation="z")  # brain-z.mp4
            await session.add_path("brain.nii.gz", nifti_as_volume=True)   # brain.nii.gz
        """
        self._require_open()
        check_bool("nifti_as_volume", nifti_as_volume)
        validate_custom_metadata(custom_metadata)
        paths = await discover_asset_files(file_path, rgbd=self._rgbd)
        names = [path.name for path in paths]
        axes = _check_orientation(nifti_orientation, names, as_volume=nifti_as_volume)
        kinds = [_conversion(name, None, as_volume=nifti_as_volume) for name in names]
        if any(kinds):
            await require_medical_extra()
        self._check_new_names(
            [
                known
                for name, kind in zip(names, kinds, strict=True)
                for known in _converted_names(name, kind, axes)
            ]
        )

        async def describe(item: tuple[Path, MedicalFormat | None]) -> list[LocalFile]:
            path, kind = item
            if kind is None:
                try:
                    return [await self._describe_path(path, custom_metadata)]
                except DicomFileError:  # DICOM content under another name
                    await require_medical_extra()
                    kind = MedicalFormat.DICOM
            return await self._convert(path, path.name, kind, axes, custom_metadata)

        described = await map_bounded(
            list(zip(paths, kinds, strict=True)), describe, limit=DESCRIBE_CONCURRENCY
        )
        self._accept([file for files in described for file in files])

    async def add_bytes(
        self,
        file_bytes: bytes,
        filename: str,
        custom_metadata: dict[str, object] | None = None,
        nifti_orientation: str | None = None,
        *,
        nifti_as_volume: bool = False,
    ) -> None:
        """Add in-memory file bytes; ``filename`` must carry the extension of its type.

        DICOM and NIfTI bytes are converted as :meth:`add_path` converts files (the bytes are
        written to the session's temporary folder first); the options mean the same.

        Example::

            await session.add_bytes(camera_jpeg, "cam1-0001.jpg", custom_metadata={"cam": 1})
            await session.add_bytes(nifti_bytes, "nifti.nii")  # nifti-x/-y/-z.mp4
        """
        self._require_open()
        file_bytes = check_bytes("file_bytes", file_bytes)
        validate_filename(filename)
        check_bool("nifti_as_volume", nifti_as_volume)
        axes = _check_orientation(nifti_orientation, [filename], as_volume=nifti_as_volume)
        kind = _conversion(filename, file_bytes[:SNIFF_HEAD_SIZE], as_volume=nifti_as_volume)
        if kind is None:
            files = [
                await describe_asset_bytes(
                    file_bytes, filename, rgbd=self._rgbd, custom_metadata=custom_metadata
                )
            ]
        else:
            name = validate_filename(filename)
            validate_custom_metadata(custom_metadata)
            if not file_bytes:
                raise UnsupportedFileError(f"Unsupported asset file {name}: it is empty", path=name)
            await require_medical_extra()
            self._check_new_names(_converted_names(name, kind, axes))
            files = await self._convert(file_bytes, name, kind, axes, custom_metadata)
        self._check_new_names([file.filename for file in files])
        self._accept(files)

    async def _describe_path(
        self, path: os.PathLike[str], custom_metadata: dict[str, object] | None
    ) -> LocalFile:
        return await describe_asset_path(
            path,
            rgbd=self._rgbd,
            custom_metadata=custom_metadata,
            chunk_size=self.chunk_size,
            hash_max_size=self.multipart_threshold,  # parts are announced with crc32c 0
        )

    async def _convert(
        self,
        source: Path | bytes,
        filename: str,
        kind: MedicalFormat,
        axes: Sequence[str],
        custom_metadata: dict[str, object] | None,
    ) -> list[LocalFile]:
        """Convert a medical file; describe each file made (checked like any asset file)."""
        converted = await self._converter.convert(source, filename, kind, axes=axes)
        return [
            dataclasses.replace(
                await self._describe_path(item.path, custom_metadata), frames=item.frames
            )
            for item in converted
        ]

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
        try:
            if exc is not None:
                return  # nothing was sent yet: the error propagates as it is
            if not self._files:
                raise InvalidInputError("Assets to upload is empty: add files before leaving")
            async with rollback_on_failure(
                self._cancel_open_sessions, describe="cancel the upload sessions"
            ):
                await self._upload_all()
        finally:
            await self._converter.aclose()  # converted files are sent (or never will be)
        if not self.background:
            await self.wait_until_done()

    # --- uploading -------------------------------------------------------------------------

    def _report(self, *, files: int = 0, skipped: int = 0, size: int = 0) -> None:
        self.progress.files_done += files
        self.progress.files_skipped += skipped
        self.progress.bytes_done += size
        notify(self._on_progress, self.progress)

    def _report_wait(self, seconds: float | None) -> None:
        if self.progress.rate_limit_wait != seconds:
            self.progress.rate_limit_wait = seconds
            notify(self._on_progress, self.progress)

    async def _without_existing(self, files: list[LocalFile]) -> list[LocalFile]:
        sizes = {
            asset.filename: asset.metadata.file_size async for asset in self._existing_assets()
        }
        missing = [f for f in files if sizes.get(f.filename) != f.size]
        skipped = len(files) - len(missing)
        if skipped:
            kept = {f.filename for f in missing}
            self.skipped_unverified = [f.filename for f in files if f.filename not in kept]
            logger.warning(
                "Skipping %d file(s) the project already holds under the same name and size; "
                "their content was not compared (the API gives no checksum of an asset), so a "
                "file edited in place to the same size keeps its old bytes: "
                "session.skipped_unverified lists them; upload without skip_existing (or "
                "delete those assets) to replace them",
                skipped,
            )
            skipped_bytes = sum(f.size for f in files) - sum(f.size for f in missing)
            self._report(skipped=skipped, size=skipped_bytes)  # accounted for, like sent bytes
        return missing

    async def _upload_all(self) -> None:
        self.progress.files_total = len(self._files)
        self.progress.bytes_total = sum(f.size for f in self._files)
        storage = StorageClient(
            max_connections=self.max_concurrency,
            connections_per_client=ASSET_UPLOAD_CONNECTIONS_PER_CLIENT,
            chunk_size=self.chunk_size,
            engine=self._transport.storage_engine,
        )
        message = (
            "{count} file(s) failed to upload; every other file was stored, and the server "
            "sessions that waited for the failed ones were cancelled"
        )
        with failures_as_upload_error(self._failed, message):
            files = await self._without_existing(self._files) if self.skip_existing else self._files
            batches = [
                files[i : i + self.batch_size] for i in range(0, len(files), self.batch_size)
            ]
            async with storage:
                await for_each_bounded(
                    batches,
                    lambda batch: self._upload_batch(storage, batch),
                    limit=BATCH_CONCURRENCY,
                )
        if self._failed:  # every batch ran to its end
            raise UploadError(message.format(count=len(self._failed)), failed=self._failed)

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

        failed: list[FailedFile] = []
        await transfer_each(
            zip(batch, session.assets, strict=True),
            transfer,
            limit=self.max_concurrency,
            filename=lambda pair: pair[0].filename,
            failed=failed,
            keep_going=True,  # one file's failure stops neither its batch nor the others
        )
        if failed:
            failed = await self._not_stored(session, batch, failed)
        self._failed.extend(failed)
        if not failed:
            self._open_sessions.remove(session.id)
            self._operation_ids.append(session.op_id)

    async def _not_stored(
        self, session: UploadSessionResponse, batch: list[LocalFile], failed: list[FailedFile]
    ) -> list[FailedFile]:
        """Which of ``failed`` the server does not have. A transfer whose answer was lost
        after the server stored it, then retried and refused as a replay, is not a failure:
        once every file that surely arrived is processed, the files the session still waits
        for are the ones missing; when their count does not tell which, each is looked up."""
        op = await wait_until_processed(
            self._operations,
            session.op_id,
            arrived=len(batch) - len(failed),
            timeout=self._timeout,
            schedule=self._poll_schedule,
        )
        missing = op.status.progress.with_status.Queued
        if missing == 0:
            logger.info("Every file of upload session %s arrived after all", session.id)
            return []
        if missing == len(failed):
            return failed
        sizes = {file.filename: file.size for file in batch}
        still: list[FailedFile] = []
        for failure in failed:
            try:
                asset = await self._get_asset(failure.filename)
            except NotFoundError:
                still.append(failure)
                continue
            if asset.metadata.file_size != sizes[failure.filename]:
                still.append(failure)
        return still

    async def _cancel_open_sessions(self) -> None:
        """Cancel every server session whose files were not all sent."""
        open_sessions, self._open_sessions = self._open_sessions, []
        await cancel_server_sessions(self._transport, self._project_id, open_sessions)
