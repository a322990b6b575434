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

import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TypeVar

from nexus_async._concurrency import for_each_bounded
from nexus_async._exceptions import FailedFile, UploadError
from nexus_async.types.uploads import SignedUpload
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.storage import StorageClient

__all__ = [
    "CallbackError",
    "failures_as_upload_error",
    "notify",
    "send_to_signed_urls",
    "transfer_each",
]

ItemT = TypeVar("ItemT")
ValueT = TypeVar("ValueT")


class CallbackError(Exception):
    """A caller's callback raised ``error``. It is no transfer failure: it is never recorded
    against a file, and :func:`failures_as_upload_error` re-raises ``error`` itself."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"a callback raised {error!r}")
        self.error = error


def notify(callback: Callable[[ValueT], None] | None, value: ValueT) -> None:
    """Call the caller's ``callback(value)``; what it raises comes out as :class:`CallbackError`."""
    if callback is None:
        return
    try:
        callback(value)
    except Exception as exc:
        raise CallbackError(exc) from exc


async def transfer_each(
    items: Iterable[ItemT],
    send: Callable[[ItemT], Awaitable[None]],
    *,
    limit: int,
    filename: Callable[[ItemT], str],
    failed: list[FailedFile],
    keep_going: bool = False,
) -> None:
    """Run ``send(item)`` for every item, ``limit`` at once. A failure is recorded in
    ``failed`` under the item's file name, and stops the transfers still running, unless
    ``keep_going`` (then every item is tried). A :class:`CallbackError` always stops them,
    and is not the file's failure."""

    async def recorded(item: ItemT) -> None:
        try:
            await send(item)
        except CallbackError:
            raise
        except Exception as exc:
            failed.append(FailedFile(filename(item), exc))
            if not keep_going:
                raise

    await for_each_bounded(items, recorded, limit=limit)


@contextlib.contextmanager
def failures_as_upload_error(failed: list[FailedFile], message: str) -> Iterator[None]:
    """Turn an error raised after files failed into one :class:`~nexus_async.UploadError`
    that lists them all (``message`` may use ``{count}``); other errors pass unchanged, and the
    exception of a caller's callback comes out as itself."""
    try:
        yield
    except CallbackError as exc:
        raise exc.error from None
    except Exception as exc:
        if not failed:
            raise
        raise UploadError(message.format(count=len(failed)), failed=failed) from exc


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
        await storage.send_local_file(upload.method, upload.url, upload.headers, file)
        notify(on_sent, file)

    with failures_as_upload_error(failed, "{count} file(s) could not be sent to storage"):
        await transfer_each(
            targets, send, limit=limit, filename=lambda pair: pair[0].filename, failed=failed
        )
