"""The service uploader: ``async with project.assets.create_uploader() as uploader``.

A long-lived, task-safe uploader for services that receive files one at a time (a FastAPI
endpoint, a queue worker). Any number of tasks call :meth:`AssetUploader.upload_bytes` /
:meth:`AssetUploader.upload_path` concurrently; calls that arrive close together share one
server upload session, so a busy service stays inside the server's limit of 15 upload-session
creations per 300 s per project without ever waiting for it:

* a batch takes files until it holds ``max_files`` files or ``max_bytes`` bytes, and is sent
  at the next free slot of the session budget: creations are spaced ``window / limit`` apart
  plus 5 % (21 s for 15 per 300 s), so sustained traffic never meets the limit, and no file
  waits more than ``max_delay`` seconds to be sent; a quiet uploader sends a lone file after
  a few ms;
* each call returns when ITS file is stored and ingested, or raises for that file alone: a file
  that fails to transfer does not stop the others (the session is then cancelled once the
  others arrived, which keeps them);
* at most ``max_pending`` files wait or travel at once; further calls wait for room
  (backpressure). A cancelled caller's file leaves its batch if the batch was not sent yet;
  the other callers never notice;
* leaving the block sends what is pending and waits for it.

Every call runs the same local checks as ``add_bytes``/``add_path`` first: bad input raises at
the call and nothing is queued. Medical files are not converted here: NIfTI volumes are uploaded
as they are (``application/x-nifti[-gz]``, as ``nifti_as_volume=True`` does in an upload
session), and a DICOM file raises :class:`~nexus_async.UnsupportedFileError` saying that an
upload session converts it (or to zip the series).

Example::

    async with project.assets.create_uploader(groups=["api"]) as uploader:
        stored = await uploader.upload_bytes(jpeg_bytes, "cam1-0001.jpg")
        print(stored.filename, stored.operation_id)
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from nexus_async._concurrency import for_each_bounded, rollback_on_failure, task_group
from nexus_async._constants import (
    ASSET_UPLOAD_CONNECTIONS_PER_CLIENT,
    DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_PART_CONCURRENCY,
    DEFAULT_UPLOAD_CONCURRENCY,
    MAX_ASSETS_PER_SESSION,
    MULTIPART_THRESHOLD,
    UPLOADER_LINGER,
    UPLOADER_MAX_BYTES,
    UPLOADER_MAX_DELAY,
    UPLOADER_MAX_FILES,
    UPLOADER_MAX_PENDING,
    UPLOADER_PACE_MARGIN,
)
from nexus_async._exceptions import (
    FailedFile,
    InvalidInputError,
    NexusError,
    OperationFailedError,
    UploadError,
)
from nexus_async._transport import Transport
from nexus_async._validation import check_seconds
from nexus_async.polling import PollSchedule
from nexus_async.uploads.files import LocalFile, describe_asset_bytes, describe_asset_path
from nexus_async.uploads.metadata import validate_custom_metadata, validate_positive_ints
from nexus_async.uploads.multipart import upload_multipart
from nexus_async.uploads.rate_limit import OnRateLimit, RateLimitWaits, SessionCreationLimits
from nexus_async.uploads.server_sessions import (
    cancel_server_sessions,
    create_server_session,
    project_is_rgbd,
    upload_poll_schedule,
    wait_until_processed,
)
from nexus_async.uploads.storage import StorageClient, storage_for

if TYPE_CHECKING:
    from nexus_async.resources.operations import Operations

__all__ = ["AssetUploader", "UploadedAsset"]

logger = logging.getLogger("nexus_async")


@dataclasses.dataclass(frozen=True)
class UploadedAsset:
    """A file the uploader stored and the server ingested.

    The project keys assets by file name: ``await project.assets.get(stored.filename)`` returns
    the asset. ``session_id`` and ``operation_id`` name the server upload session the file
    shared with the other files of its batch.
    """

    filename: str
    size: int
    session_id: str
    operation_id: str


@dataclasses.dataclass(eq=False)
class _Entry:
    """One call's file, and where its outcome is delivered."""

    file: LocalFile
    done: anyio.Event = dataclasses.field(default_factory=anyio.Event)
    result: UploadedAsset | None = None
    error: BaseException | None = None

    def resolve(
        self, result: UploadedAsset | None = None, error: BaseException | None = None
    ) -> None:
        if not self.done.is_set():
            self.result, self.error = result, error
            self.done.set()


@dataclasses.dataclass(eq=False)
class _Batch:
    """Files that will share one server upload session."""

    opened_at: float
    entries: list[_Entry] = dataclasses.field(default_factory=list)
    size: int = 0
    sent: bool = False
    send_now: anyio.Event = dataclasses.field(default_factory=anyio.Event)

    def names(self) -> set[str]:
        return {entry.file.filename for entry in self.entries}


class AssetUploader:
    """Uploads files one call at a time, coalesced into shared upload sessions.

    Made by ``project.assets.create_uploader(...)`` (see there for the options); use it with
    ``async with``, typically in a FastAPI lifespan. Example::

        async with project.assets.create_uploader(max_delay=10) as uploader:
            stored = await uploader.upload_path("scan-17.png", custom_metadata={"site": "A"})
    """

    def __init__(
        self,
        transport: Transport,
        project_id: str,
        *,
        operations: Operations,
        creation_limits: SessionCreationLimits,
        groups: Sequence[str],
        max_files: int = UPLOADER_MAX_FILES,
        max_bytes: int = UPLOADER_MAX_BYTES,
        max_delay: float = UPLOADER_MAX_DELAY,
        max_pending: int = UPLOADER_MAX_PENDING,
        max_concurrency: int = DEFAULT_UPLOAD_CONCURRENCY,
        on_rate_limit: OnRateLimit = "wait",
        timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        poll_schedule: PollSchedule | None = None,
    ) -> None:
        validate_positive_ints(
            max_files=max_files,
            max_bytes=max_bytes,
            max_pending=max_pending,
            max_concurrency=max_concurrency,
        )
        if max_files > MAX_ASSETS_PER_SESSION:
            raise InvalidInputError(f"max_files is at most {MAX_ASSETS_PER_SESSION}")
        if isinstance(max_delay, bool) or not isinstance(max_delay, (int, float)) or max_delay < 0:
            raise InvalidInputError(
                f"max_delay must be a number of seconds >= 0, got {max_delay!r}"
            )
        self.groups = list(groups)
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.max_delay = float(max_delay)
        self.max_pending = max_pending
        self.max_concurrency = max_concurrency
        self._transport = transport
        self._project_id = project_id
        self._operations = operations
        self._limits = creation_limits
        self._waits = RateLimitWaits(project_id, on_rate_limit)
        self._timeout = check_seconds("timeout", timeout)
        self._poll_schedule = upload_poll_schedule(poll_schedule)
        # Sessions are spaced so that sustained traffic never meets the creation limit.
        self._pace = (
            0.0
            if creation_limits.limit is None
            else creation_limits.window / creation_limits.limit * UPLOADER_PACE_MARGIN
        )
        self._next_slot = -math.inf
        self._room = anyio.Semaphore(max_pending)
        self._batch: _Batch | None = None
        self._open_sessions: list[str] = []
        self._group: TaskGroup | None = None
        self._exit_stack = contextlib.AsyncExitStack()
        self._storage: StorageClient | None = None
        self._rgbd = False
        self._state = "new"

    def __repr__(self) -> str:
        pending = len(self._batch.entries) if self._batch else 0
        return (
            f"AssetUploader(project_id={self._project_id!r}, groups={self.groups!r}, "
            f"pending={pending}, state={self._state!r})"
        )

    # --- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> AssetUploader:
        if self._state != "new":
            raise InvalidInputError("an uploader can be entered only once")
        self._rgbd = await project_is_rgbd(self._transport, self._project_id)
        self._storage = storage_for(
            self._transport,
            max_connections=self.max_concurrency,
            connections_per_client=ASSET_UPLOAD_CONNECTIONS_PER_CLIENT,
        )
        self._group = await self._exit_stack.enter_async_context(task_group())
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._state = "closing"
        batch, self._batch = self._batch, None
        if batch is not None:
            batch.send_now.set()  # send what is pending now
        assert self._group is not None
        assert self._storage is not None
        if exc is not None:
            self._group.cancel_scope.cancel()
        try:
            await self._exit_stack.__aexit__(exc_type, exc, traceback)
        finally:
            self._state = "closed"
            with anyio.CancelScope(shield=True):
                await self._storage.aclose()

    # --- calls ------------------------------------------------------------------------------

    async def upload_bytes(
        self,
        file_bytes: bytes,
        filename: str,
        custom_metadata: dict[str, object] | None = None,
    ) -> UploadedAsset:
        """Upload in-memory file bytes; return once they are stored and ingested.

        ``filename`` must carry the extension of the file's type. Bad input raises (before
        anything is queued) as ``add_bytes`` does. A failed transfer raises
        :class:`~nexus_async.UploadError` naming this file (the cause chained); an error of the
        whole batch is raised as it is: its session creation refused (e.g.
        :class:`~nexus_async.RateLimitError` with ``on_rate_limit="raise"``), or its ingestion
        failed (:class:`~nexus_async.OperationFailedError`).
        """
        self._require_open()
        file = await describe_asset_bytes(
            file_bytes, filename, rgbd=self._rgbd, custom_metadata=custom_metadata
        )
        return await self._upload(file)

    async def upload_path(
        self,
        path: str | os.PathLike[str],
        custom_metadata: dict[str, object] | None = None,
    ) -> UploadedAsset:
        """Upload one file from disk (streamed, never read whole into memory when large);
        return once it is stored and ingested. Raises like :meth:`upload_bytes`."""
        self._require_open()
        validate_custom_metadata(custom_metadata)
        if not await anyio.to_thread.run_sync(os.path.isfile, path):
            raise InvalidInputError(
                f"upload_path takes one file; {os.fspath(path)!r} is not a file"
            )
        file = await describe_asset_path(
            path,
            rgbd=self._rgbd,
            custom_metadata=custom_metadata,
            hash_max_size=MULTIPART_THRESHOLD,  # parts are announced with crc32c 0
        )
        return await self._upload(file)

    def _require_open(self) -> None:
        if self._state != "open":
            raise InvalidInputError(
                "upload inside `async with project.assets.create_uploader(...) as uploader:` "
                f"(this uploader is {self._state})"
            )

    async def _upload(self, file: LocalFile) -> UploadedAsset:
        entry = _Entry(file)
        async with self._room:
            self._require_open()
            batch = self._join(entry)
            try:
                await entry.done.wait()
            except BaseException:
                if not batch.sent and entry in batch.entries:  # nothing sent yet: withdraw it
                    batch.entries.remove(entry)
                    batch.size -= file.size
                raise
        if entry.error is not None:
            raise _own_copy(entry.error) from entry.error
        assert entry.result is not None
        return entry.result

    def _join(self, entry: _Entry) -> _Batch:
        """Put ``entry`` in the open batch (a new one if none, if it is full, or if it already
        has a file of that name: the server keys assets by name)."""
        batch = self._batch
        if (
            batch is None
            or (batch.entries and batch.size + entry.file.size > self.max_bytes)
            or entry.file.filename in batch.names()
        ):
            batch = self._open_batch()
        batch.entries.append(entry)
        batch.size += entry.file.size
        if len(batch.entries) >= self.max_files or batch.size >= self.max_bytes:
            self._batch = None  # full: the next file opens another
        return batch

    def _open_batch(self) -> _Batch:
        """A new open batch, with its send time reserved in the session budget."""
        now = anyio.current_time()
        batch = self._batch = _Batch(opened_at=now)
        send_at = min(now + self.max_delay, max(now + UPLOADER_LINGER, self._next_slot))
        self._next_slot = send_at + self._pace
        assert self._group is not None
        self._group.start_soon(self._dispatch, batch, send_at)
        return batch

    # --- batches ----------------------------------------------------------------------------

    async def _dispatch(self, batch: _Batch, send_at: float) -> None:
        """Wait for the batch's send time (or a flush), then send it; deliver every outcome."""
        with anyio.move_on_after(max(send_at - anyio.current_time(), 0.0)):
            await batch.send_now.wait()
        if self._batch is batch:
            self._batch = None
        batch.sent = True
        entries = list(batch.entries)
        if not entries:
            return  # every caller withdrew
        try:
            await self._send(entries)
        except Exception as error:  # the batch failed as a whole (e.g. its session creation)
            self._fail(entries, error)
        except BaseException:  # the uploader is closing on an error: tell every caller
            closed = NexusError("the uploader was closed before this file was stored")
            for entry in entries:
                entry.resolve(error=_file_failed(entry.file.filename, closed))
            raise

    async def _send(self, entries: list[_Entry]) -> None:
        assert self._storage is not None
        storage = self._storage
        files = [entry.file for entry in entries]
        created: list[str] = []

        async def cancel_created() -> None:
            await cancel_server_sessions(self._transport, self._project_id, created)

        async with rollback_on_failure(cancel_created, describe="cancel the upload session"):
            session = await create_server_session(
                self._transport,
                self._project_id,
                groups=self.groups,
                files=files,
                is_multipart=_is_multipart,
                limits=self._limits,
                waits=self._waits,
                on_created=created.append,
            )
            failures: dict[int, BaseException] = {}

            async def transfer(index: int) -> None:
                file, target = files[index], session.assets[index].upload
                try:
                    if _is_multipart(file):
                        await upload_multipart(
                            self._transport,
                            storage,
                            project_id=self._project_id,
                            session_id=session.id,
                            file=file,
                            part_concurrency=DEFAULT_PART_CONCURRENCY,
                        )
                    else:
                        await storage.send_local_file(
                            target.method, target.url, target.headers, file
                        )
                except Exception as error:  # this file alone fails
                    failures[index] = error

            await for_each_bounded(range(len(files)), transfer, limit=self.max_concurrency)
            if failures:
                # The session can no longer complete: cancel it; the files that arrived stay.
                await cancel_created()
            created.clear()
            outcome = await self._ingested(session.op_id, sent=len(files) - len(failures))
        for index, entry in enumerate(entries):
            if index in failures:
                entry.resolve(error=_file_failed(entry.file.filename, failures[index]))
            elif outcome is not None:
                entry.resolve(error=outcome)
            else:
                stored = UploadedAsset(
                    entry.file.filename, entry.file.size, session.id, session.op_id
                )
                entry.resolve(result=stored)

    async def _ingested(self, op_id: str, *, sent: int) -> Exception | None:
        """Wait until the server processed every file that arrived; the error that applies to
        those files, if processing failed."""
        if sent == 0:
            return None

        op = await wait_until_processed(
            self._operations,
            op_id,
            arrived=sent,
            timeout=self._timeout,
            schedule=self._poll_schedule,
        )
        errored = op.status.progress.with_status.Errored
        if errored:
            return OperationFailedError(
                f"the server failed to process {errored} file(s) of upload session operation "
                f"{op_id}; it does not say which",
                operation_id=op_id,
                operation=op,
            )
        return None

    def _fail(self, entries: Sequence[_Entry], error: BaseException) -> None:
        for entry in entries:
            entry.resolve(error=error)


def _own_copy(error: BaseException) -> BaseException:
    """A copy of an outcome for one caller: the callers of a batch must not raise one shared
    exception object (each raise would add its frames to the others' traceback)."""
    clone = type(error).__new__(type(error), *error.args)
    clone.__dict__.update(vars(error))
    return clone


def _file_failed(filename: str, cause: BaseException) -> UploadError:
    error = UploadError(
        f"{filename} failed to upload: {cause}", failed=[FailedFile(filename, cause)]
    )
    error.__cause__ = cause
    return error


def _is_multipart(file: LocalFile) -> bool:
    return file.size > MULTIPART_THRESHOLD and file.path is not None
