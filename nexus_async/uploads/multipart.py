"""Multipart upload of one large file (nexus-api.md §6.4).

The server decides the part count; part ``n`` covers ``[(n-1)·size//count, n·size//count)``,
the last part running to the end of the file. Parts go up concurrently (each one retried alone
by re-reading its byte range), are reported to the API with the storage response headers it
asked for, and the upload is completed once every part is in. Any failure or cancellation
aborts the multipart upload on the server before the error propagates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from nexus_async._concurrency import for_each_bounded, rollback_on_failure, shielded_call
from nexus_async._exceptions import APIError, NexusError, NotFoundError
from nexus_async._transport import Transport, api_path
from nexus_async.types.uploads import (
    MultipartCompleteResponse,
    MultipartPartStatus,
    MultipartUploadSession,
    MultipartUploadSignedUrl,
)
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.storage import StorageClient

__all__ = ["PART_ATTEMPTS", "part_ranges", "upload_multipart"]

logger = logging.getLogger("nexus_async")

# A part the API reports as not completed is sent again (new URL, bytes re-read) this often.
PART_ATTEMPTS = 3


def part_ranges(size: int, part_count: int) -> list[tuple[int, int]]:
    """``(offset, length)`` of every part, the last one running to the end of the file."""
    if part_count < 1 or part_count > size:
        raise ValueError(f"cannot split {size} bytes into {part_count} parts")
    part_size = size // part_count
    ranges = [((n - 1) * part_size, part_size) for n in range(1, part_count)]
    last_offset = (part_count - 1) * part_size
    return [*ranges, (last_offset, size - last_offset)]


class _MultipartUpload:
    def __init__(
        self,
        transport: Transport,
        storage: StorageClient,
        project_id: str,
        upload_id: str,
        path: Path,
    ) -> None:
        self._transport = transport
        self._storage = storage
        self._project_id = project_id
        self._upload_id = upload_id
        self._path = path

    def _path_of(self, *segments: str) -> str:
        return api_path(
            "projects", self._project_id, "multipartassetuploads", self._upload_id, *segments
        )

    async def send_part(self, number: int, offset: int, length: int) -> None:
        for _ in range(PART_ATTEMPTS):
            signed = await self._transport.request(
                "PUT", self._path_of("parts", str(number)), cast_to=MultipartUploadSignedUrl
            )
            response_headers = await self._storage.send_file(
                signed.method, signed.url, signed.headers, self._path, offset=offset, length=length
            )
            report: dict[str, object] = {
                "responseHeaders": {
                    name: response_headers.get(name, "") for name in signed.response_headers
                }
            }
            if signed.response_body:
                report["responseBody"] = ""  # bodies of successful part uploads are empty
            status = await self._transport.request(
                "POST",
                self._path_of("parts", str(number), "complete"),
                cast_to=MultipartPartStatus,
                body=report,
            )
            if status.completed:
                return
        raise APIError(
            f"part {number} of multipart upload {self._upload_id} was not accepted after "
            f"{PART_ATTEMPTS} attempts"
        )

    async def complete(self) -> None:
        done = await self._transport.request(
            "POST", self._path_of("complete"), cast_to=MultipartCompleteResponse
        )
        if not done.completed:
            raise APIError(f"multipart upload {self._upload_id} was not completed by the server")

    async def abort(self) -> None:
        try:
            await self._transport.request("DELETE", self._path_of(), max_retries=1, cleanup=True)
        except NotFoundError:
            pass  # already gone: nothing to clean up
        except NexusError as exc:  # never hide the error that made us abort
            logger.warning("Could not abort multipart upload %s: %s", self._upload_id, exc)


async def upload_multipart(
    transport: Transport,
    storage: StorageClient,
    *,
    project_id: str,
    session_id: str,
    file: LocalFile,
    part_concurrency: int,
    on_bytes: Callable[[int], None] | None = None,
) -> None:
    """Send ``file`` (which must have a path) as a multipart upload of ``session_id``."""
    if file.path is None:
        raise ValueError(f"{file.filename}: multipart uploads stream from a file path")
    path = file.path
    uploads: list[_MultipartUpload] = []

    def created(answer: MultipartUploadSession) -> None:
        uploads.append(_MultipartUpload(transport, storage, project_id, answer.id, path))

    async def abort_created() -> None:
        for upload in uploads:
            await upload.abort()

    async def send(part: tuple[int, tuple[int, int]]) -> None:
        number, (offset, length) = part
        await uploads[0].send_part(number, offset, length)
        if on_bytes is not None:
            on_bytes(length)

    async with rollback_on_failure(abort_created, describe="abort the multipart upload"):
        answer = await shielded_call(  # the id is learned even if cancelled, so we can abort
            lambda: transport.request(
                "POST",
                api_path("projects", project_id, "assetuploadsessions", session_id, "multipart"),
                cast_to=MultipartUploadSession,
                body={"filename": file.filename, "mime": file.mime, "size": file.size},
            ),
            on_result=created,
        )
        parts = enumerate(part_ranges(file.size, answer.part_count), start=1)
        await for_each_bounded(parts, send, limit=part_concurrency)
        await uploads[0].complete()
