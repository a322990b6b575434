"""Task groups that raise the SDK's own errors rather than an ExceptionGroup around them.

anyio 4 wraps every error of a task group in an ``ExceptionGroup``. When only one real error
happened (the others are the cancellations it caused), callers should see that error itself,
typed as documented; several distinct errors still come out as a group.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
from anyio.abc import TaskGroup

if sys.version_info < (3, 11):  # pragma: no cover - exercised on Python 3.10 only
    from exceptiongroup import BaseExceptionGroup

__all__ = ["for_each_bounded", "map_bounded", "task_group"]

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


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
