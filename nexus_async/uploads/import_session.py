"""The annotation import session: ``async with project.annotations.create_import_session()``.

Wire sequence (nexus-api.md §10, §16 rulings 6, 15, 16):

* the server session (``POST annotationimportsessions``) is created by the first
  ``add_path``/``add_bytes`` whose files pass the local checks — making the object or
  entering the block does no I/O (unlike the official SDK, weakness 13), so bad input never
  leaves a session behind;
* every ``add_path``/``add_bytes`` checks its files locally (existence, duplicate names, the
  1 000-files-per-session limit of the user docs), then announces them
  (``POST …/files``, at most 1 000 per request, CRC-32C as base64) and streams each to its
  signed URL with exactly the issued headers, several at once, checking every storage answer;
* leaving the block normally PATCHes ``FilesInserted=Reached`` and, in the foreground, waits
  until the server has processed the files: ``Errored`` raises
  :class:`~nexus_async.AnnotationImportError` carrying the session's log lines;
* an exception or a task cancellation inside the block PATCHes ``FilesProcessed=FailedReach``
  (shielded from the cancellation) and the exception propagates — it is never swallowed (the
  official SDK swallows it, weakness 3).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from types import TracebackType

import anyio
import anyio.lowlevel

from nexus_async._concurrency import bounded_cleanup, map_bounded, shielded_call
from nexus_async._constants import (
    DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_UPLOAD_CONCURRENCY,
    MAX_IMPORT_FILES_PER_REQUEST,
    MAX_IMPORT_FILES_PER_SESSION,
)
from nexus_async._exceptions import (
    AnnotationImportError,
    APIConnectionError,
    APIResponseError,
    BadRequestError,
    InternalServerError,
    InvalidInputError,
    NexusError,
    OperationFailedError,
    OutcomeUnknownError,
    UnsupportedFileError,
)
from nexus_async._transport import Transport, api_path
from nexus_async._validation import check_bool, check_bytes, check_seconds
from nexus_async.polling import PollSchedule, poll_until_done
from nexus_async.types.imports import ImportSession as ImportSessionState
from nexus_async.types.imports import ImportSessionLog, InsertImportSessionFiles
from nexus_async.types.uploads import SignedUpload
from nexus_async.uploads.checksums import bytes_crc32c
from nexus_async.uploads.discovery import discover_annotation_files
from nexus_async.uploads.files import LocalFile, describe_file
from nexus_async.uploads.metadata import (
    FilenameRegistry,
    validate_filename,
    validate_positive_ints,
)
from nexus_async.uploads.mime import file_extension
from nexus_async.uploads.storage import StorageClient, storage_for
from nexus_async.uploads.transfers import send_to_signed_urls

__all__ = ["ImportSession"]

logger = logging.getLogger("nexus_async")

FILES_INSERTED = {"condition": "FilesInserted", "status": "Reached"}
FILES_FAILED = {"condition": "FilesProcessed", "status": "FailedReach"}
# Files described (stat + hash in a worker thread) at once.
DESCRIBE_CONCURRENCY = 8
# How long the shielded "mark the session failed" request may take on the way out.


def _condition_body(condition: dict[str, str]) -> dict[str, object]:
    return {"status": {"conditions": [condition]}}


class ImportSession:
    """Imports annotation files into a project. Made by
    ``project.annotations.create_import_session(...)``; the server session is created when the
    block is entered.

    Example::

        async with project.annotations.create_import_session() as session:
            await session.add_path("labels/")              # every .csv/.json/.xml/... below
            await session.add_bytes(csv_bytes, "extra.csv")
        logs = await session.get_logs()                     # empty when nothing went wrong
    """

    def __init__(
        self,
        transport: Transport,
        project_id: str,
        *,
        background: bool = False,
        max_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY,
        max_files: int = MAX_IMPORT_FILES_PER_SESSION,
        timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        poll_schedule: PollSchedule | None = None,
    ) -> None:
        validate_positive_ints(max_concurrency=max_concurrency, max_files=max_files)
        self.background = check_bool("background", background)
        self.max_concurrency = max_concurrency
        self.max_files = max_files
        self.id: str | None = None
        self._transport = transport
        self._project_id = project_id
        self._timeout = check_seconds("timeout", timeout)
        self._poll_schedule = poll_schedule
        self._names = FilenameRegistry()
        self._storage: StorageClient | None = None
        self._creating = anyio.Lock()
        self._state = "new"

    def __repr__(self) -> str:
        return (
            f"ImportSession(project_id={self._project_id!r}, id={self.id!r}, "
            f"files={len(self._names)}, state={self._state!r})"
        )

    def __len__(self) -> int:
        """How many files were sent so far."""
        return len(self._names)

    # --- reading the server session ---------------------------------------------------------

    def _session_path(self, *segments: str) -> str:
        if self.id is None:
            raise InvalidInputError(
                "this import session has no server session yet: it is created by the first "
                "add_path/add_bytes inside `async with`"
            )
        return api_path(
            "projects", self._project_id, "annotationimportsessions", self.id, *segments
        )

    async def get(self) -> ImportSessionState:
        """The server's view of this session (status, file and annotation counts).

        Example::

            state = await session.get()
            state.status.overview, state.status.annotations.with_status.Committed
        """
        return await self._transport.request(
            "GET", self._session_path(), cast_to=ImportSessionState
        )

    async def get_logs(self) -> ImportSessionLog:
        """The session's log: one line per problem found in the files (empty when none).

        Example::

            for line in (await session.get_logs()).logs:
                print(line.level, line.message)
        """
        return await self._transport.request(
            "GET", self._session_path("logs"), cast_to=ImportSessionLog
        )

    async def wait_until_done(self, timeout: float | None = None) -> ImportSessionState:  # noqa: ASYNC109
        """Wait until the server has processed the files; return the finished session.

        Raises :class:`~nexus_async.AnnotationImportError` (with the log lines) when the import
        ends ``Errored``, :class:`~nexus_async.OperationTimeoutError` after ``timeout`` seconds
        (default: the session's). Useful after a ``background=True`` block.

        Example::

            session = project.annotations.create_import_session(background=True)
            async with session:
                await session.add_path("labels.csv")
            await session.wait_until_done()
        """
        path = self._session_path()
        session_id = self.id or ""
        if self._state not in ("inserted", "done"):
            raise InvalidInputError(
                f"import session {session_id} is {self._state}: only a session whose block "
                "completed can be waited for (leave the `async with` block first)"
            )
        try:
            return await poll_until_done(
                lambda: self._transport.request("GET", path, cast_to=ImportSessionState),
                state_of=lambda state: state.status.overview,
                succeeded=("Finished",),
                failed=("Errored",),
                cancelled=("Cancelled",),
                resource_id=session_id,
                kind="Annotation import session",
                timeout=self._timeout if timeout is None else timeout,
                schedule=self._poll_schedule,
            )
        except OperationFailedError as exc:
            raise await self._import_error(exc) from exc

    async def _import_error(self, exc: OperationFailedError) -> AnnotationImportError:
        session_id = self.id or ""
        message = f"Annotation import session {session_id} ended Errored"
        if isinstance(exc.operation, ImportSessionState):
            message += f": {exc.operation.status.message}"
        try:
            logs = (await self.get_logs()).logs
        except NexusError as log_error:  # keep the import error even if the logs are out of reach
            logger.warning(
                "Could not read the logs of import session %s: %s", session_id, log_error
            )
            return AnnotationImportError(message, session_id=session_id)
        lines = [f"  {log.level}: {log.message}" for log in logs]
        return AnnotationImportError("\n".join([message, *lines]), session_id=session_id, logs=logs)

    # --- adding files -------------------------------------------------------------------------

    def _require_open(self) -> StorageClient:
        if self._state != "open" or self._storage is None:
            raise InvalidInputError(
                "add files inside `async with project.annotations.create_import_session() as "
                f"session:` (this session is {self._state})"
            )
        return self._storage

    def _check_new(self, filenames: Sequence[str]) -> None:
        """Refuse (before any request) names already in the session and the file limit."""
        if len(self._names) + len(filenames) > self.max_files:
            raise InvalidInputError(
                f"an annotation import session takes at most {self.max_files} files; it has "
                f"{len(self._names)} and {len(filenames)} more were added"
            )
        trial = FilenameRegistry()
        for name in filenames:
            if name in self._names:
                self._names.add(name)  # raises DuplicateFilenameError naming the file
            trial.add(name)  # a duplicate within this call raises too

    async def add_path(self, file_path: str | os.PathLike[str]) -> None:
        """Add one annotation file (any name), or every ``.json .csv .xml .labels .txt .nii.gz``
        file below a folder (recursively, any case), and send them.

        A missing path, a folder without annotation files, a name already in the session or
        more than 1 000 files in the session raise :class:`~nexus_async.InvalidInputError`
        before anything is sent.

        Example::

            await session.add_path("labels/")
        """
        storage = self._require_open()
        paths = await discover_annotation_files(file_path)
        self._check_new([path.name for path in paths])
        files = await map_bounded(paths, describe_file, limit=DESCRIBE_CONCURRENCY)
        await self._send(storage, files)

    async def add_bytes(self, file_bytes: bytes, filename: str) -> None:
        """Add an annotation file from memory; ``filename`` names it and must carry its
        extension (the server chooses the format by it), else UnsupportedFileError.

        Example::

            await session.add_bytes(b"filename,xmin,ymin,xmax,ymax,label\\n...", "extra.csv")
        """
        storage = self._require_open()
        data = check_bytes("file_bytes", file_bytes)
        name = validate_filename(filename)
        if not file_extension(name):  # the server picks the format by it (user docs: required)
            raise UnsupportedFileError(
                f"{name}: add_bytes needs the file name with its extension (e.g. labels.csv)",
                path=name,
            )
        self._check_new([name])
        file = LocalFile(filename=name, size=len(data), crc32c=await bytes_crc32c(data), data=data)
        await self._send(storage, [file])

    async def _create_server_session(self) -> None:
        """Create the server session once, before the first files are announced."""
        async with self._creating:
            if self.id is not None:
                return
            # The answer is learned even if the caller is cancelled meanwhile; the block's exit
            # then closes the session as failed.
            await shielded_call(
                lambda: self._transport.request(
                    "POST",
                    api_path("projects", self._project_id, "annotationimportsessions"),
                    cast_to=ImportSessionState,
                ),
                on_result=lambda created: setattr(self, "id", created.id),
            )

    async def _send(self, storage: StorageClient, files: list[LocalFile]) -> None:
        self._check_new([file.filename for file in files])
        await self._create_server_session()
        # Checked again with no await before the names are taken: concurrent add_* calls in
        # one block can neither both take a name nor together pass the file limit.
        self._check_new([file.filename for file in files])
        for file in files:
            self._names.add(file.filename)
        for start in range(0, len(files), MAX_IMPORT_FILES_PER_REQUEST):
            batch = files[start : start + MAX_IMPORT_FILES_PER_REQUEST]
            answer = await self._transport.request(
                "POST",
                self._session_path("files"),
                cast_to=InsertImportSessionFiles,
                body={
                    "files": [
                        {"filename": f.filename, "size": f.size, "crc32c": f.crc32c_base64}
                        for f in batch
                    ]
                },
            )
            await send_to_signed_urls(
                storage, self._pair(batch, answer), limit=self.max_concurrency
            )

    def _pair(
        self, batch: list[LocalFile], answer: InsertImportSessionFiles
    ) -> list[tuple[LocalFile, SignedUpload]]:
        """Each file with the upload the server issued for it, matched by file name."""
        by_name = {file.filename: file for file in batch}
        issued = {entry.filename: entry.upload for entry in answer.files}
        if issued.keys() != by_name.keys() or len(answer.files) != len(batch):
            raise APIResponseError(
                f"import session {self.id} did not return exactly the files sent "
                f"(sent {sorted(by_name)}, got {[entry.filename for entry in answer.files]})"
            )
        return [(file, issued[file.filename]) for file in batch]

    # --- the context manager -------------------------------------------------------------------

    async def __aenter__(self) -> ImportSession:
        if self._state != "new":
            raise InvalidInputError("an import session can be entered only once")
        self._storage = storage_for(self._transport, max_connections=self.max_concurrency)
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        storage, self._storage = self._storage, None
        try:
            if exc is not None:
                self._state = "failed"
                await self._mark_failed()
                return  # the exception propagates as it is
            if self.id is None or not len(self._names):
                self._state = "failed"
                await self._mark_failed()
                raise InvalidInputError(
                    "no annotation files were added to the import session; nothing was imported"
                )
            try:
                await self._commit()
            except OutcomeUnknownError:
                self._state = "unknown"  # never mark failed what may have been committed
                raise
            except BaseException:
                self._state = "failed"
                await self._mark_failed()
                raise
            self._state = "inserted"
        finally:
            if storage is not None:
                with anyio.CancelScope(shield=True):
                    await storage.aclose()
        if not self.background:
            await self.wait_until_done()
            self._state = "done"

    async def _commit(self) -> None:
        """PATCH ``FilesInserted=Reached``. When its answer is lost after it was sent, ask
        again: a second commit that the server accepts, or refuses because the session is no
        longer open, means the session was committed. Only when the
        server cannot be asked does :class:`~nexus_async.OutcomeUnknownError` say so."""
        body = _condition_body(FILES_INSERTED)
        path = self._session_path()
        try:
            await self._transport.request("PATCH", path, cast_to=ImportSessionState, body=body)
            return
        except (APIConnectionError, InternalServerError) as lost:  # it may have acted
            if isinstance(lost, APIConnectionError) and not lost.may_have_reached_server:
                raise
            logger.warning("The answer to committing import session %s was lost; asking", self.id)
        try:
            await self._transport.request("PATCH", path, cast_to=ImportSessionState, body=body)
            return  # the first commit had not arrived; this one did
        except BadRequestError:
            # "No longer open": this path never marks the session failed and it was open a
            # moment ago, so the commit whose answer was lost went through. The wait that
            # follows reports how its processing ends.
            return
        except (APIConnectionError, InternalServerError) as error:
            raise OutcomeUnknownError(
                f"Committing import session {self.id} lost its answer twice; it may or may not "
                "have been committed",
                how_to_check=(
                    f"Check with `await project.annotations.get_import_session({self.id!r})`: "
                    "Running or Finished means committed (re-running the import would add "
                    "every annotation again)"
                ),
            ) from error

    async def _mark_failed(self) -> None:
        """PATCH ``FilesProcessed=FailedReach`` (shielded, bounded); a failure of this request
        is logged, never raised over the error that brought us here. Nothing to do when no
        server session was created."""
        if self.id is None:
            return
        session_id = self.id

        async def mark_failed() -> None:
            try:
                await self._transport.request(
                    "PATCH",
                    self._session_path(),
                    cast_to=ImportSessionState,
                    body=_condition_body(FILES_FAILED),
                    max_retries=2,
                    cleanup=True,
                )
            except NexusError as error:
                logger.warning("Could not mark import session %s as failed: %s", session_id, error)

        await bounded_cleanup(mark_failed, describe=f"mark import session {session_id} failed")
