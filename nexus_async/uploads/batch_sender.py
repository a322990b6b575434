"""The sending end of an asset upload session: each batch of described files becomes one server
upload session, and its files go to the signed URLs that session issued.

A :class:`BatchSender` lives as long as its session's ``async with`` block and runs the batches
in a task group of that block, at most ``BATCH_CONCURRENCY`` at once: one transfers while the
next is announced (waiting for the upload-session limit if need be), so a long upload keeps the
limit's window full. :meth:`BatchSender.submit` waits while that many are in flight, which holds
the describing stage back: memory stays at a few batches, whatever the folder holds.

A file that still fails after its retries does not stop the others: it is listed in
:attr:`BatchSender.failed`, and its server session is cancelled once the other files of the
batch arrived (which keeps them). Any other error (the session request refused, a progress
callback that raised, a cancellation) stops every batch, and :meth:`BatchSender.close` cancels
the server sessions still waiting for files.

Example::

    sender = BatchSender(transport, project_id, ...)
    await sender.open()
    try:
        await sender.submit(files[:5000])
    except BaseException as exc:
        await sender.close(exc)
        raise
    await sender.close(None)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup

from nexus_async._concurrency import bounded_cleanup, task_group
from nexus_async._constants import (
    ASSET_UPLOAD_CONNECTIONS_PER_CLIENT,
    BATCH_CONCURRENCY,
)
from nexus_async._exceptions import FailedFile, NotFoundError
from nexus_async._transport import Transport
from nexus_async.polling import PollSchedule
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.multipart import upload_multipart
from nexus_async.uploads.rate_limit import RateLimitWaits, SessionCreationLimits
from nexus_async.uploads.server_sessions import (
    cancel_server_sessions,
    create_server_session,
    wait_until_processed,
)
from nexus_async.uploads.storage import StorageClient, storage_for
from nexus_async.uploads.transfers import transfer_each

if TYPE_CHECKING:
    from nexus_async.resources.operations import Operations
    from nexus_async.types.assets import Asset

__all__ = ["BatchSender", "Report"]

logger = logging.getLogger("nexus_async")

Report = Callable[[int, int, int], None]
"""``report(files_done, files_skipped, bytes_done)``: increments of an upload's progress."""


class BatchSender:
    """Sends batches of files (at most 5,000 each) through server upload sessions.

    ``existing_assets`` lists the project's assets: with ``skip_existing``, it is read once
    (when the first batch goes) into a name -> size map, and each batch leaves out the files
    the project holds with the same name and size (named in ``skipped_unverified``).
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
        waits: RateLimitWaits,
        groups: Sequence[str],
        skip_existing: bool,
        max_concurrency: int,
        chunk_size: int,
        multipart_threshold: int,
        part_concurrency: int,
        timeout: float | None,
        poll_schedule: PollSchedule,
        report: Report,
        skipped_unverified: list[str],
    ) -> None:
        self._transport = transport
        self._project_id = project_id
        self._operations = operations
        self._existing_assets = existing_assets
        self._get_asset = get_asset
        self._limits = creation_limits
        self._waits = waits
        self._groups = list(groups)
        self._skip_existing = skip_existing
        self._max_concurrency = max_concurrency
        self._chunk_size = chunk_size
        self._multipart_threshold = multipart_threshold
        self._part_concurrency = part_concurrency
        self._timeout = timeout
        self._poll_schedule = poll_schedule
        self._report = report
        self.skipped_unverified = skipped_unverified
        self.operation_ids: list[str] = []
        self.failed: list[FailedFile] = []
        self._open_sessions: set[str] = set()
        self._slots = anyio.Semaphore(BATCH_CONCURRENCY)
        self._existing: dict[str, int] | None = None
        self._reading_existing = anyio.Lock()
        self._group: TaskGroup | None = None
        self._storage: StorageClient | None = None
        self._exit_stack = contextlib.AsyncExitStack()

    async def open(self) -> None:
        """Start the task group the batches run in (in the task that will :meth:`close`)."""
        self._storage = storage_for(
            self._transport,
            max_connections=self._max_concurrency,
            connections_per_client=ASSET_UPLOAD_CONNECTIONS_PER_CLIENT,
            chunk_size=self._chunk_size,
        )
        self._group = await self._exit_stack.enter_async_context(task_group())

    async def submit(self, batch: list[LocalFile]) -> None:
        """Start sending ``batch`` as soon as fewer than ``BATCH_CONCURRENCY`` batches are in
        flight (this waits for that: backpressure)."""
        assert self._group is not None, "open() first"
        await self._slots.acquire()
        try:
            self._group.start_soon(self._send_then_release, batch)
        except BaseException:
            self._slots.release()
            raise

    async def close(self, error: BaseException | None) -> None:
        """Wait for every batch to end; with ``error`` (the exception that ends the block),
        cancel them instead. If any batch failed other than by a file's transfer, or on
        ``error``, cancel the server sessions still waiting for files, then raise."""
        assert self._group is not None, "open() first"
        assert self._storage is not None
        if error is not None:
            self._group.cancel_scope.cancel()
        try:
            try:
                await self._exit_stack.__aexit__(type(error) if error else None, error, None)
            except BaseException:
                await self._roll_back()
                raise
            if error is not None:  # the group's own cancellation ends quietly: roll back anyway
                await self._roll_back()
        finally:
            with anyio.CancelScope(shield=True):
                await self._storage.aclose()

    async def _roll_back(self) -> None:
        await bounded_cleanup(self._cancel_open_sessions, describe="cancel the upload sessions")

    async def _send_then_release(self, batch: list[LocalFile]) -> None:
        try:
            await self._send(batch)
        finally:
            self._slots.release()

    def _is_multipart(self, file: LocalFile) -> bool:
        return file.size > self._multipart_threshold and file.path is not None

    async def _send(self, batch: list[LocalFile]) -> None:
        if self._skip_existing:
            batch = await self._without_existing(batch)
            if not batch:
                return
        created = await create_server_session(
            self._transport,
            self._project_id,
            groups=self._groups,
            files=batch,
            is_multipart=self._is_multipart,
            limits=self._limits,
            waits=self._waits,
            on_created=self._open_sessions.add,
        )
        session_id, op_id = created.id, created.op_id
        # Only what the transfers need: the parsed answer costs ~2.5 KB a file (models around
        # each signed URL), ~12 MiB for 5,000 files, for as long as the batch transfers.
        targets = [(a.upload.method, a.upload.url, a.upload.headers) for a in created.assets]
        del created
        failed: list[FailedFile] = []
        await transfer_each(
            zip(batch, targets, strict=True),
            lambda pair: self._transfer(session_id, *pair),
            limit=self._max_concurrency,
            filename=lambda pair: pair[0].filename,
            failed=failed,
            keep_going=True,  # one file's failure stops neither its batch nor the others
        )
        if failed:
            failed = await self._not_stored(session_id, op_id, batch, failed)
        if failed:
            self.failed.extend(failed)
            await cancel_server_sessions(self._transport, self._project_id, [session_id])
        else:
            self.operation_ids.append(op_id)
        self._open_sessions.discard(session_id)

    async def _transfer(
        self, session_id: str, file: LocalFile, target: tuple[str, str, dict[str, str]]
    ) -> None:
        assert self._storage is not None
        if self._is_multipart(file):
            await upload_multipart(
                self._transport,
                self._storage,
                project_id=self._project_id,
                session_id=session_id,
                file=file,
                part_concurrency=self._part_concurrency,
                on_bytes=lambda size: self._report(0, 0, size),
            )
            self._report(1, 0, 0)
        else:
            method, url, headers = target
            await self._storage.send_local_file(method, url, headers, file)
            self._report(1, 0, file.size)

    async def _existing_sizes(self) -> dict[str, int]:
        async with self._reading_existing:
            if self._existing is None:
                self._existing = {
                    asset.filename: asset.metadata.file_size
                    async for asset in self._existing_assets()
                }
            return self._existing

    async def _without_existing(self, batch: list[LocalFile]) -> list[LocalFile]:
        sizes = await self._existing_sizes()
        missing = [file for file in batch if sizes.get(file.filename) != file.size]
        skipped = len(batch) - len(missing)
        if skipped:
            if not self.skipped_unverified:
                logger.warning(
                    "Skipping file(s) the project already holds under the same name and size; "
                    "their content was not compared (the API gives no checksum of an asset), so "
                    "a file edited in place to the same size keeps its old bytes: "
                    "session.skipped_unverified lists them; upload without skip_existing (or "
                    "delete those assets) to replace them"
                )
            kept = {file.filename for file in missing}
            self.skipped_unverified.extend(f.filename for f in batch if f.filename not in kept)
            skipped_bytes = sum(f.size for f in batch) - sum(f.size for f in missing)
            self._report(0, skipped, skipped_bytes)  # accounted for, like sent bytes
        return missing

    async def _not_stored(
        self, session_id: str, op_id: str, batch: list[LocalFile], failed: list[FailedFile]
    ) -> list[FailedFile]:
        """Which of ``failed`` the server does not have. A transfer whose answer was lost
        after the server stored it, then retried and refused as a replay, is not a failure:
        once every file that surely arrived is processed, the files the session still waits
        for are the ones missing; when their count does not tell which, each is looked up."""
        op = await wait_until_processed(
            self._operations,
            op_id,
            arrived=len(batch) - len(failed),
            timeout=self._timeout,
            schedule=self._poll_schedule,
        )
        missing = op.status.progress.with_status.Queued
        if missing == 0:
            logger.info("Every file of upload session %s arrived after all", session_id)
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
        open_sessions, self._open_sessions = self._open_sessions, set()
        await cancel_server_sessions(self._transport, self._project_id, sorted(open_sessions))
