"""Sending a set of described files to the signed URLs the API issued for them, concurrently.

Shared by the sessions whose files go single-shot to storage (annotation imports; the asset
session could use it for its non-multipart files): a bounded pool of transfers through one
:class:`~nexus_async.uploads.StorageClient`, every storage response checked, and one
:class:`~nexus_async.UploadError` naming every file that failed (the first failure cancels the
transfers still running).

Example::

    async with StorageClient(max_connections=16) as storage:
        await send_to_signed_urls(storage, [(file, answer.upload)], limit=16)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from nexus_async._concurrency import for_each_bounded
from nexus_async._exceptions import FailedFile, UploadError
from nexus_async.types.uploads import SignedUpload
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.storage import StorageClient

__all__ = ["send_to_signed_urls"]


async def send_to_signed_urls(
    storage: StorageClient,
    targets: Iterable[tuple[LocalFile, SignedUpload]],
    *,
    limit: int,
    on_sent: Callable[[LocalFile], None] | None = None,
) -> None:
    """Send each file with exactly its upload's method, URL and headers, ``limit`` at once.

    Raises :class:`~nexus_async.UploadError` listing the failed files (each with its
    :class:`~nexus_async.StorageError` or local cause) once the other transfers are stopped.
    """
    failed: list[FailedFile] = []

    async def send(pair: tuple[LocalFile, SignedUpload]) -> None:
        file, upload = pair
        try:
            await storage.send_local_file(upload.method, upload.url, upload.headers, file)
        except Exception as exc:
            failed.append(FailedFile(file.filename, exc))
            raise
        if on_sent is not None:
            on_sent(file)

    try:
        await for_each_bounded(targets, send, limit=limit)
    except Exception as exc:
        if not failed:
            raise
        raise UploadError(
            f"{len(failed)} file(s) could not be sent to storage", failed=failed
        ) from exc
