"""Task groups that raise the SDK's own errors, bounded maps, and creation under cancellation.

anyio 4 wraps every error of a task group in an ``ExceptionGroup``. When only one real error
happened (the others are the cancellations it caused), callers should see that error itself,
typed as documented; several distinct errors still come out as a group.

:func:`shielded_call` and :func:`rollback_on_failure` are the one lifecycle of the server
resources the SDK creates (upload sessions, import sessions, multipart uploads, datasets): the
creating request runs shielded for a bounded grace once it went out (so its id is learned and
the resource rolled back), never its retries or waits, and the rollback is shielded and bounded
too.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TypeVar

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

from nexus_async._constants import CLEANUP_TIMEOUT, CREATE_GRACE

if sys.version_info < (3, 11):  # pragma: no cover - exercised on Python 3.10 only
    from exceptiongroup import BaseExceptionGroup

__all__ = [
    "bounded_cleanup",
    "for_each_bounded",
    "in_shielded_call",
    "map_bounded",
    "request_sent",
    "rollback_on_failure",
    "shielded_call",
    "task_group",
]

logger = logging.getLogger("nexus_async")

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

_SENT_HOOK: ContextVar[Callable[[], None] | None] = ContextVar("nexus_async_sent", default=None)


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            leaves.extend(_leaves(exc))
        else:
            leaves.append(exc)
    return leaves


@asynccontextmanager
async def task_group() -> AsyncIterator[TaskGroup]:
    """An anyio task group; a lone failure propagates unwrapped. Example::

    async with task_group() as group:
        group.start_soon(work)
    """
    try:
        async with anyio.create_task_group() as group:
            yield group
    except BaseExceptionGroup as errors:
        cancelled = anyio.get_cancelled_exc_class()
        real = [exc for exc in _leaves(errors) if not isinstance(exc, cancelled)]
        if len(real) == 1:
            raise real[0] from None
        raise


async def for_each_bounded(
    items: Iterable[ItemT], work: Callable[[ItemT], Awaitable[None]], *, limit: int
) -> None:
    """Run ``work(item)`` for every item with at most ``limit`` running at once.

    A fixed set of workers pulls from one shared iterator, so thousands of items never become
    thousands of waiting tasks. The first failure cancels the rest and propagates. Example::

        await for_each_bounded(files, upload_one, limit=32)
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            await work(item)

    async with task_group() as group:
        for _ in range(limit):
            group.start_soon(worker)


async def map_bounded(
    items: Sequence[ItemT], work: Callable[[ItemT], Awaitable[ResultT]], *, limit: int
) -> list[ResultT]:
    """``[await work(item) for item in items]``, at most ``limit`` running at once, results in
    the order of ``items``. The first failure cancels the rest and propagates. Example::

        files = await map_bounded(paths, describe_file, limit=8)
    """
    results: dict[int, ResultT] = {}

    async def run(indexed: tuple[int, ItemT]) -> None:
        index, item = indexed
        results[index] = await work(item)

    await for_each_bounded(enumerate(items), run, limit=limit)
    return [results[index] for index in range(len(items))]


def request_sent() -> None:
    """Tell the :func:`shielded_call` running in this task that its request started to go out
    (the transport calls this when the request's first bytes are sent)."""
    hook = _SENT_HOOK.get()
    if hook is not None:
        hook()


def in_shielded_call() -> bool:
    """Whether the current task runs the call of a :func:`shielded_call`."""
    return _SENT_HOOK.get() is not None


async def shielded_call(
    call: Callable[[], Awaitable[ResultT]],
    *,
    on_result: Callable[[ResultT], None],
    grace: float = CREATE_GRACE,
) -> ResultT:
    """Await ``call()`` so that a cancellation of the caller cannot lose its answer.

    For one request that creates something on the server: ``on_result`` runs as soon as the
    answer is in, even when the caller was cancelled meanwhile, so the caller's cleanup can
    roll the resource back. A caller cancelled before the request started to go out (e.g. it
    was still waiting for a pooled connection) abandons it at once: nothing was sent. Once it
    was sent, a cancelled caller waits at most ``grace`` seconds more for the answer; after
    that the request is abandoned (the resource, if any, then expires on the server). Wrap only
    the single request in this, never retries or their waits. Example::

        session = await shielded_call(
            lambda: transport.request("POST", path, cast_to=Session, max_retries=0),
            on_result=lambda created: open_ids.append(created.id),
        )
    """
    shield = anyio.CancelScope(shield=True)
    sent = abandoned = False
    results: list[ResultT] = []
    done = anyio.Event()

    def mark_sent() -> None:
        nonlocal sent
        sent = True

    async def run() -> None:
        try:
            if abandoned:
                return
            _SENT_HOOK.set(mark_sent)  # this task's own context
            with shield:
                result = await call()
                on_result(result)
                results.append(result)
        finally:
            done.set()

    async with task_group() as group:
        group.start_soon(run)
        try:
            await done.wait()
        except anyio.get_cancelled_exc_class():
            abandoned = True
            if not sent:
                shield.cancel()  # nothing went out: nothing to learn
            else:
                shield.deadline = min(shield.deadline, anyio.current_time() + grace)
            raise
    await anyio.lowlevel.checkpoint()  # a cancellation that arrived meanwhile fires here
    return results[0]


@asynccontextmanager
async def rollback_on_failure(
    rollback: Callable[[], Awaitable[None]], *, describe: str
) -> AsyncIterator[None]:
    """Run ``rollback()`` (shielded, at most CLEANUP_TIMEOUT seconds) if the block fails or is
    cancelled, then let the error propagate. A rollback cut short is logged (WARNING) with
    ``describe``. Example::

        async with rollback_on_failure(lambda: cancel_session(session.id), describe="..."):
            await send_files(session)
    """
    try:
        yield
    except BaseException:
        await bounded_cleanup(rollback, describe=describe)
        raise


async def bounded_cleanup(cleanup: Callable[[], Awaitable[None]], *, describe: str) -> None:
    """Run ``cleanup()`` shielded from cancellation for at most CLEANUP_TIMEOUT seconds; log a
    WARNING naming ``describe`` if it was cut short."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_TIMEOUT) as scope:
        await cleanup()
    if scope.cancelled_caught:
        logger.warning(
            "Could not %s within %.1f s; the server will expire what is left open",
            describe,
            CLEANUP_TIMEOUT,
        )
