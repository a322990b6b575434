"""The server side of asset upload sessions: announce a batch of files, and cancel sessions.

Shared by :class:`~nexus_async.uploads.UploadSession` and the service
:class:`~nexus_async.uploads.AssetUploader`. Creation waits for the client's session-creation
limit (never silently, see :class:`RateLimitWaits`), retries only refusals that are safe to
retry, and shields only the single POST in flight (bounded), so a caller's cancellation is
honoured within about a second and the id of a session that was created is still learned and
handed to ``on_created`` for rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from nexus_async._concurrency import for_each_bounded, shielded_call
from nexus_async._constants import (
    SESSION_CREATE_MAX_RETRIES,
    UPLOAD_POLL_FIRST_DELAY,
    UPLOAD_POLL_MAX_DELAY,
)
from nexus_async._exceptions import APIResponseError, ConflictError, NexusError
from nexus_async._transport import Transport, api_path
from nexus_async.polling import PollSchedule, poll_until_done
from nexus_async.types.projects import ProjectInfo
from nexus_async.types.uploads import UploadSession as UploadSessionResponse
from nexus_async.uploads.checksums import crc32c_to_signed_int
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.mime import AssetKind
from nexus_async.uploads.rate_limit import RateLimitWaits, SessionCreationLimits

__all__ = [
    "cancel_server_sessions",
    "create_server_session",
    "project_is_rgbd",
    "session_item",
    "upload_poll_schedule",
    "wait_until_processed",
]

if TYPE_CHECKING:
    from nexus_async.resources.operations import Operations
    from nexus_async.types.operations import Operation

logger = logging.getLogger("nexus_async")

VIDEO_ENCODER = {"profile": "h264Saver", "everyNthFrame": 1}


async def project_is_rgbd(transport: Transport, project_id: str) -> bool:
    """Whether the project is an RGBD project (its ``.zip`` files are RGBD archives)."""
    project = await transport.request("GET", api_path("projects", project_id), cast_to=ProjectInfo)
    return project.type == "RGBD"


def upload_poll_schedule(schedule: PollSchedule | None) -> PollSchedule:
    """``schedule``, or the default for upload ingestion: polled at most 0.5 s apart (see
    ``_constants``); pass a PollSchedule to trade lag for fewer requests."""
    return schedule or PollSchedule(
        first_delay=UPLOAD_POLL_FIRST_DELAY, max_delay=UPLOAD_POLL_MAX_DELAY
    )


async def wait_until_processed(
    operations: Operations,
    op_id: str,
    *,
    arrived: int,
    timeout: float | None,
    schedule: PollSchedule,
) -> Operation:
    """Poll an upload session's operation until the ``arrived`` files known to have reached
    storage are processed (Finished or Errored) and none is Running. What is still Queued then
    never arrived (or, after a cancel, shows as Cancelled)."""

    def settled(op: Operation) -> str:
        counts = op.status.progress.with_status
        done = counts.Finished + counts.Errored
        waiting = counts.Queued > 0 and done < arrived
        return "busy" if counts.Running or waiting else "settled"

    return await poll_until_done(
        lambda: operations.get(op_id),
        state_of=settled,
        succeeded={"settled"},
        failed=(),
        resource_id=op_id,
        timeout=timeout,
        schedule=schedule,
    )


def session_item(file: LocalFile, *, multipart: bool) -> dict[str, object]:
    """One ``assets[]`` item of the creation body (nexus-api.md §6.1)."""
    item: dict[str, object] = {
        "filename": file.filename,
        "size": file.size,
        "crc32c": 0 if multipart else crc32c_to_signed_int(file.crc32c),
        "mime": file.mime,
    }
    if file.kind is AssetKind.VIDEO:
        # Known for videos made from medical files; reading it from other videos needs a
        # decoder, so 1 (unknown) as the official SDK sends when it cannot read it.
        item["frames"] = file.frames or 1
        item["encoder"] = VIDEO_ENCODER
    if file.custom_metadata:
        item["customMetadata"] = file.custom_metadata
    return item


async def create_server_session(
    transport: Transport,
    project_id: str,
    *,
    groups: Sequence[str],
    files: Sequence[LocalFile],
    is_multipart: Callable[[LocalFile], bool],
    limits: SessionCreationLimits,
    waits: RateLimitWaits,
    on_created: Callable[[str], None],
) -> UploadSessionResponse:
    """Create one server session for ``files``; ``on_created(session_id)`` runs as soon as the
    server answered, even if the caller is being cancelled."""
    path = api_path("projects", project_id, "assetuploadsessions")
    body = {
        "groups": list(groups),
        "assets": [session_item(f, multipart=is_multipart(f)) for f in files],
    }
    await limits.acquire(project_id, waits.client_limit(limits, transport.base_url + path))
    waits.done_waiting()
    policy = transport.retry.replace(max_retries=SESSION_CREATE_MAX_RETRIES)
    async for attempt in policy.retrying(
        idempotent=False, describe=f"POST {path}", before_wait=waits.server_refusal
    ):
        with attempt:
            session = await shielded_call(
                lambda: transport.request(
                    "POST", path, cast_to=UploadSessionResponse, body=body, max_retries=0
                ),
                on_result=lambda created: on_created(created.id),
            )
    waits.done_waiting()
    returned = [asset.metadata.filename for asset in session.assets]
    if returned != [file.filename for file in files]:
        raise APIResponseError(
            f"upload session {session.id} did not echo the files in request order"
        )
    return session


async def cancel_server_sessions(
    transport: Transport, project_id: str, session_ids: Sequence[str]
) -> None:
    """``:cancel`` every session (concurrently); a session already finished is fine, and any
    other failure is logged, never raised (the caller is already handling an error)."""

    async def cancel(session_id: str) -> None:
        path = api_path("projects", project_id, "assetuploadsessions", session_id)
        try:
            await transport.request("POST", path + ":cancel", max_retries=2, cleanup=True)
        except ConflictError:
            pass  # already finished or cancelled
        except NexusError as exc:
            logger.warning("Could not cancel upload session %s: %s", session_id, exc)

    await for_each_bounded(list(session_ids), cancel, limit=8)
