"""The asset upload session: ``async with project.assets.create_upload_session() as session``.

``add_path``/``add_bytes`` validate and describe files locally (type, size, CRC-32C, custom
metadata) and raise a typed error when a file is unfit. Accepted files are sent in batches of at
most 5 000 files, one server session each (creation rate-limited per client and project), files
streamed to their signed URLs by a bounded pool of workers, files over the multipart threshold
sent in parts. In the foreground, leaving the block then waits until the server has ingested
every file.

**A pipeline, not a pass.** ``add_path(folder)`` walks the folder, describes its files and sends
them at the same time: as soon as the folder proves larger than one batch, every full batch goes
(the official SDK also submits whenever 5 000 files are pending) while later files are still
being found and described, and at most a few batches are held at once: memory does not grow
with the number of files. Batches are announced as fast as the upload-session limit allows.
Files not making a full batch wait for the next ``add_*`` call or for the end of the block.

What an unfit file means:

* a folder of at most ``batch_size`` files (and any single file or ``add_bytes``) is checked
  whole before any of its files is accepted: an unfit file raises and adds nothing;
* in a larger folder, the files are accepted in whole batches as they are described, so an
  unfit file found late (unsupported, too large, a duplicate name, a failed conversion...)
  raises from ``add_path`` after the batches before it were accepted: its message says how
  many files of the folder were accepted. Its own batch is never announced. The accepted
  batches carry on uploading while the block goes on; if the error leaves the block, the
  block's exit cancels what is in flight and the server sessions still waiting for files,
  as for any error in the block (``session.progress.files_done`` counts the files stored).

``len(session)``, ``progress.files_total`` and ``progress.bytes_total`` are running totals of
the files accepted so far.

DICOM and NIfTI files are converted locally to PNG/MP4 assets as the documentation describes
(``uploads/medical.py`` says what becomes what; it needs the ``[medical]`` extra); a NIfTI
volume is uploaded as it is with ``nifti_as_volume=True``. The converted files live in a
temporary folder that leaving the block removes, whatever way it is left.

A failure never passes silently (unlike the official SDK): a file that still fails after its
retries is listed, the server session that waited for it is cancelled, and leaving the block
raises one :class:`~nexus_async.UploadError` listing every failed file with its cause. Any other
error while sending (or a progress callback that raised) cancels the block's code and comes out
of the ``async with``. An exception or a task cancellation inside or during the block cancels
what is in flight and the open server sessions the same way.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from nexus_async._constants import (
    CHUNK_SIZE,
    DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_PART_CONCURRENCY,
    DEFAULT_UPLOAD_CONCURRENCY,
    DESCRIBE_CHUNK_FILES,
    DESCRIBE_CONCURRENCY,
    FIRST_BATCH_BYTES,
    FIRST_BATCH_FILES,
    MAX_ASSETS_PER_SESSION,
    MULTIPART_THRESHOLD,
    SNIFF_HEAD_SIZE,
)
from nexus_async._exceptions import (
    InvalidInputError,
    NexusError,
    UnsupportedFileError,
    UploadError,
)
from nexus_async._transport import Transport
from nexus_async._validation import check_bool, check_bytes, check_seconds
from nexus_async.polling import PollSchedule
from nexus_async.uploads.batch_sender import BatchSender
from nexus_async.uploads.conversions import MedicalConverter, medical_stem, require_medical_extra
from nexus_async.uploads.discovery import walk_asset_files
from nexus_async.uploads.files import (
    LocalFile,
    describe_asset_bytes,
    describe_asset_path,
    describe_asset_paths,
)
from nexus_async.uploads.metadata import (
    CustomMetadata,
    NameHashSet,
    validate_custom_metadata,
    validate_filename,
    validate_positive_ints,
)
from nexus_async.uploads.mime import DicomFileError, MedicalFormat, file_extension, medical_format
from nexus_async.uploads.pipeline import in_chunks, map_in_order, read_ahead
from nexus_async.uploads.rate_limit import OnRateLimit, RateLimitWaits, SessionCreationLimits
from nexus_async.uploads.server_sessions import project_is_rgbd, upload_poll_schedule
from nexus_async.uploads.transfers import failures_as_upload_error, notify

if TYPE_CHECKING:
    from nexus_async.resources.operations import Operations
    from nexus_async.types.assets import Asset
    from nexus_async.types.operations import Operation

__all__ = ["UploadProgress", "UploadSession"]

NIFTI_ORIENTATIONS = ("x", "y", "z")
_FAILED_MESSAGE = (
    "{count} file(s) failed to upload; every other file was stored, and the server "
    "sessions that waited for the failed ones were cancelled"
)

# What describing one discovered file gives: its asset file(s), or why it is unfit.
Described = list[LocalFile] | NexusError


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


def _check_orientation(orientation: str | None, *, as_volume: bool) -> tuple[str, ...]:
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
    return (orientation,)


def _not_nifti(name: str, orientation: str | None) -> InvalidInputError | None:
    """The error of a file given ``nifti_orientation`` that is no NIfTI volume, if so."""
    if orientation is None or file_extension(name) in (".nii", ".nii.gz"):
        return None
    return InvalidInputError(f"nifti_orientation applies to NIfTI files only, not {name}")


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


class _Intake:
    """The files one ``add_path`` call described and checked but did not accept yet.

    A call is accepted whole at its end, unless its folder holds more than ``batch_size``
    files (``large``): then its files are accepted a batch at a time, the first batch early
    (``FIRST_BATCH_FILES`` files or ``FIRST_BATCH_BYTES``) so that sending starts at once.
    Converted medical files can outnumber their folder's files: a call holding more than
    ``batch_size`` files is accepted a batch at a time too. Names are checked exactly against
    the files held here, and against the session's names (all accepted files).
    """

    def __init__(self, session: UploadSession, *, large: bool) -> None:
        self._session = session
        self._large = large
        self._files: list[LocalFile] = []
        self._names: set[str] = set()
        self._bytes = 0
        self.accepted = 0

    async def take(self, described: list[Described]) -> None:
        """Hold the described files, in order; raise the first unfit file's error."""
        for outcome in described:
            if isinstance(outcome, NexusError):
                raise outcome
            for file in outcome:
                name = file.filename
                if name in self._names or name in self._session._names:
                    raise NameHashSet.duplicate(name)
                self._names.add(name)
                self._files.append(file)
                self._bytes += file.size
        first_batch_ready = len(self._files) >= FIRST_BATCH_FILES or (
            self._bytes >= FIRST_BATCH_BYTES
        )
        if self._large and not self.accepted and first_batch_ready:
            await self.accept(flush=True)
        elif len(self._files) > self._session.batch_size:
            await self.accept()

    async def accept(self, *, flush: bool = False) -> None:
        """Accept every file held; the session sends each full batch (every file: ``flush``)."""
        files, self._files, self._names, self._bytes = self._files, [], set(), 0
        self._session._accept(files)
        self.accepted += len(files)
        await self._session._send_batches(flush=flush)

    def explain(self, error: NexusError) -> None:
        """Say in ``error`` which files of the folder were accepted before it was found."""
        if self.accepted:
            error.message += (
                f" (found after the first {self.accepted} file(s) of the folder, in discovery "
                f"order, were accepted in whole batches of {self._session.batch_size}: they "
                "are uploaded as usual; no file after them was added. If this error leaves "
                "the `async with` block, the block cancels the transfers in flight and the "
                "server sessions still waiting for files.)"
            )


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
        self._sender = BatchSender(
            transport,
            project_id,
            operations=operations,
            existing_assets=existing_assets,
            get_asset=get_asset,
            creation_limits=creation_limits,
            waits=RateLimitWaits(project_id, on_rate_limit, self._report_wait),
            groups=self.groups,
            skip_existing=self.skip_existing,
            max_concurrency=max_concurrency,
            chunk_size=chunk_size,
            multipart_threshold=multipart_threshold,
            part_concurrency=part_concurrency,
            timeout=self._timeout,
            poll_schedule=self._poll_schedule,
            report=self._report,
            skipped_unverified=self.skipped_unverified,
        )
        self._names = NameHashSet()  # of every accepted file
        self._pending: list[LocalFile] = []  # accepted, not in a batch yet
        self._accepted = 0
        self._rgbd = False
        self._state = "new"
        self._converter = MedicalConverter()

    def __repr__(self) -> str:
        return (
            f"UploadSession(project_id={self._project_id!r}, groups={self.groups!r}, "
            f"files={self._accepted}, state={self._state!r})"
        )

    def __len__(self) -> int:
        """Files accepted so far (a running total while ``add_path`` walks a folder)."""
        return self._accepted

    def get_operation_ids(self) -> list[str]:
        """One operation id per server session (5 000 files each) whose files were all sent."""
        return list(self._sender.operation_ids)

    async def wait_until_done(self, timeout: float | None = None) -> list[Operation]:
        """Wait until the server has ingested every file (for ``background=True`` sessions).

        Raises OperationFailedError / OperationCancelledError / OperationTimeoutError.
        """
        return await self._operations.wait_all(
            self._sender.operation_ids,
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

    def _accept(self, files: Sequence[LocalFile]) -> None:
        # No await between the check of the names and their recording: two concurrent add_*
        # calls with a name in common cannot both pass, and a refusal leaves nothing half-added.
        self._names.add_all(file.filename for file in files)
        self._pending.extend(files)
        self._accepted += len(files)
        self.progress.files_total += len(files)
        self.progress.bytes_total += sum(file.size for file in files)

    async def _send_batches(self, *, flush: bool = False) -> None:
        """Send every full batch of pending files (and the last, partial one: ``flush``)."""
        while len(self._pending) >= self.batch_size or (flush and self._pending):
            batch = self._pending[: self.batch_size]
            del self._pending[: self.batch_size]
            await self._sender.submit(batch)

    async def add_path(
        self,
        file_path: str | os.PathLike[str],
        custom_metadata: dict[str, object] | None = None,
        nifti_orientation: str | None = None,
        *,
        nifti_as_volume: bool = False,
    ) -> None:
        """Add a file, or every supported asset file below a folder (recursively).

        A missing path, an empty folder, an unsupported or disguised file, a file over its
        size limit, a name already in the session, or invalid ``custom_metadata`` raises a
        typed error. A folder of at most ``batch_size`` files is checked whole first: an unfit
        file adds nothing. A larger folder is sent while it is walked: its files are accepted
        in whole batches as they are described, so an unfit file found late raises after the
        batches before it were accepted (the error says how many files; they are uploaded as
        usual, unless the error leaves the block, which cancels what is in flight). This call
        returns once every file is described and every full batch handed on to be sent; the
        last files wait in the session for more (or for the end of the block).

        Medical files are converted here, in a worker thread, one at a time (needs
        ``pip install "nexus-async[medical]"``, else :class:`~nexus_async.MissingExtraError`):
        a DICOM file (``.dcm``, or DICOM content) becomes ``{stem}.png`` (one frame) or
        ``{stem}.mp4`` (several); a NIfTI volume (``.nii``, ``.nii.gz``) becomes
        ``{stem}-x.mp4``, ``{stem}-y.mp4`` and ``{stem}-z.mp4``, or only the axis given as
        ``nifti_orientation`` (``"x"``, ``"y"`` or ``"z"``). ``custom_metadata`` goes with each
        asset made. ``nifti_as_volume=True`` uploads NIfTI volumes as they are, as one 3-D asset
        each (``application/x-nifti``, ``application/x-nifti-gz``). A file that cannot be
        converted (corrupt, truncated, 2-D, without pixel data) raises
        :class:`~nexus_async.UnsupportedFileError` before its batch is sent.

        Example::

            await session.add_path("scans/")                          # DICOM, NIfTI, images...
            await session.add_path("brain.nii.gz", nifti_orientation="z")  # brain-z.mp4
            await session.add_path("brain.nii.gz", nifti_as_volume=True)   # brain.nii.gz
        """
        self._require_open()
        check_bool("nifti_as_volume", nifti_as_volume)
        metadata = validate_custom_metadata(custom_metadata)
        axes = _check_orientation(nifti_orientation, as_volume=nifti_as_volume)
        # Whether the folder holds more than one batch, known before anything is described.
        large, paths = await read_ahead(
            walk_asset_files(file_path, rgbd=self._rgbd), self.batch_size
        )
        intake = _Intake(self, large=large)

        async def describe(paths: list[Path]) -> list[Described]:
            return await self._describe_paths(
                paths, metadata, axes, orientation=nifti_orientation, as_volume=nifti_as_volume
            )

        try:
            await map_in_order(
                in_chunks(paths, DESCRIBE_CHUNK_FILES),
                describe,
                intake.take,
                limit=DESCRIBE_CONCURRENCY,
            )
            await intake.accept()
        except NexusError as error:
            intake.explain(error)
            raise

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
        written to the session's temporary folder first); the options mean the same. Once
        ``batch_size`` accepted files wait in the session, they are sent as one batch.

        Example::

            await session.add_bytes(camera_jpeg, "cam1-0001.jpg", custom_metadata={"cam": 1})
            await session.add_bytes(nifti_bytes, "nifti.nii")  # nifti-x/-y/-z.mp4
        """
        self._require_open()
        file_bytes = check_bytes("file_bytes", file_bytes)
        validate_filename(filename)
        check_bool("nifti_as_volume", nifti_as_volume)
        axes = _check_orientation(nifti_orientation, as_volume=nifti_as_volume)
        not_nifti = _not_nifti(filename, nifti_orientation)
        if not_nifti is not None:
            raise not_nifti
        kind = _conversion(filename, file_bytes[:SNIFF_HEAD_SIZE], as_volume=nifti_as_volume)
        if kind is None:
            files = [
                await describe_asset_bytes(
                    file_bytes, filename, rgbd=self._rgbd, custom_metadata=custom_metadata
                )
            ]
        else:
            name = validate_filename(filename)
            metadata = validate_custom_metadata(custom_metadata)
            if not file_bytes:
                raise UnsupportedFileError(f"Unsupported asset file {name}: it is empty", path=name)
            await require_medical_extra()
            self._refuse_taken(_converted_names(name, kind, axes))
            files = await self._convert(file_bytes, name, kind, axes, metadata)
        self._accept(files)
        await self._send_batches()

    def _refuse_taken(self, filenames: Sequence[str]) -> None:
        """Raise DuplicateFilenameError for the first name the session already holds."""
        for name in filenames:
            if name in self._names:
                raise NameHashSet.duplicate(name)

    async def _describe_paths(
        self,
        paths: list[Path],
        metadata: CustomMetadata,
        axes: Sequence[str],
        *,
        orientation: str | None,
        as_volume: bool,
    ) -> list[Described]:
        """Describe (or convert) each file, in order: its asset files or why it is unfit.
        Plain files are described in one worker-thread hop; medical files are converted."""
        outcomes: list[Described | None] = [_not_nifti(path.name, orientation) for path in paths]
        kinds = [_conversion(path.name, None, as_volume=as_volume) for path in paths]
        plain = [i for i, kind in enumerate(kinds) if kind is None and outcomes[i] is None]
        described = await describe_asset_paths(
            [paths[i] for i in plain],
            rgbd=self._rgbd,
            custom_metadata=metadata,
            chunk_size=self.chunk_size,
            hash_max_size=self.multipart_threshold,  # parts are announced with crc32c 0
        )
        for i, outcome in zip(plain, described, strict=True):
            if isinstance(outcome, DicomFileError):  # DICOM content under another name
                kinds[i] = MedicalFormat.DICOM
            else:
                outcomes[i] = outcome if isinstance(outcome, NexusError) else [outcome]
        for i, (path, kind) in enumerate(zip(paths, kinds, strict=True)):
            if any(isinstance(earlier, NexusError) for earlier in outcomes[:i]):
                break  # the first error in order is raised: later conversions would be wasted
            if kind is not None and outcomes[i] is None:
                try:
                    await require_medical_extra()
                    self._refuse_taken(_converted_names(path.name, kind, axes))
                    outcomes[i] = await self._convert(path, path.name, kind, axes, metadata)
                except NexusError as exc:
                    outcomes[i] = exc
        return [outcome for outcome in outcomes if outcome is not None]

    async def _describe_path(self, path: os.PathLike[str], metadata: CustomMetadata) -> LocalFile:
        return await describe_asset_path(
            path,
            rgbd=self._rgbd,
            custom_metadata=metadata,
            chunk_size=self.chunk_size,
            hash_max_size=self.multipart_threshold,  # parts are announced with crc32c 0
        )

    async def _convert(
        self,
        source: Path | bytes,
        filename: str,
        kind: MedicalFormat,
        axes: Sequence[str],
        metadata: CustomMetadata,
    ) -> list[LocalFile]:
        """Convert a medical file; describe each file made (checked like any asset file)."""
        converted = await self._converter.convert(source, filename, kind, axes=axes)
        return [
            dataclasses.replace(await self._describe_path(item.path, metadata), frames=item.frames)
            for item in converted
        ]

    # --- the context manager ---------------------------------------------------------------

    async def __aenter__(self) -> UploadSession:
        if self._state != "new":
            raise InvalidInputError("an upload session can be entered only once")
        self._rgbd = await project_is_rgbd(self._transport, self._project_id)
        await self._sender.open()
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
            with failures_as_upload_error(self._sender.failed, _FAILED_MESSAGE):
                await self._finish(exc)
        finally:
            self._pending.clear()
            await self._converter.aclose()  # converted files are sent (or never will be)
        if self._sender.failed:  # every batch ran to its end
            raise UploadError(
                _FAILED_MESSAGE.format(count=len(self._sender.failed)), failed=self._sender.failed
            )
        if not self.background:
            await self.wait_until_done()

    async def _finish(self, exc: BaseException | None) -> None:
        """Send the files still pending and wait for every batch; on ``exc`` (the block's
        error) cancel what is in flight instead. Returns only if ``exc`` is to propagate."""
        if exc is not None:
            await self._sender.close(exc)
            return
        try:
            if not self._accepted:
                raise InvalidInputError("Assets to upload is empty: add files before leaving")
            await self._send_batches(flush=True)
        except BaseException as error:
            await self._sender.close(error)
            raise
        await self._sender.close(None)

    # --- progress --------------------------------------------------------------------------

    def _report(self, files: int, skipped: int, size: int) -> None:
        self.progress.files_done += files
        self.progress.files_skipped += skipped
        self.progress.bytes_done += size
        notify(self._on_progress, self.progress)

    def _report_wait(self, seconds: float | None) -> None:
        if self.progress.rate_limit_wait != seconds:
            self.progress.rate_limit_wait = seconds
            notify(self._on_progress, self.progress)
