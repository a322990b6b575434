"""One stage of the upload pipeline: work on a stream of items concurrently, hand on the
results in the stream's order, with bounded memory.

Example::

    async def describe(paths: list[Path]) -> list[LocalFile | InvalidInputError]: ...

    await map_in_order(walk_asset_files("photos/"), describe, stage_files, limit=8)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

import anyio

from nexus_async._concurrency import task_group

__all__ = ["in_chunks", "map_in_order", "read_ahead"]

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


async def in_chunks(
    lists: AsyncGenerator[list[ItemT], None], size: int
) -> AsyncGenerator[list[ItemT], None]:
    """The items of ``lists`` again, in lists of at most ``size`` (``lists`` is closed with
    this generator).

    Example::

        async for paths in in_chunks(walk_asset_files("photos/"), 16):
            ...
    """
    async with contextlib.aclosing(lists):
        async for items in lists:
            for start in range(0, len(items), size):
                yield items[start : start + size]


async def read_ahead(
    lists: AsyncGenerator[list[ItemT], None], count: int
) -> tuple[bool, AsyncGenerator[list[ItemT], None]]:
    """Read ``lists`` until more than ``count`` items came (or it ended): whether more did, and
    a generator giving every list again from the first (it closes ``lists``). Holds at most
    ``count`` items plus one list.

    Example::

        large, paths = await read_ahead(walk_asset_files("photos/"), 5000)
    """
    head: list[list[ItemT]] = []
    seen = 0
    try:
        async for items in lists:
            head.append(items)
            seen += len(items)
            if seen > count:
                break
    except BaseException:
        await lists.aclose()
        raise
    return seen > count, _replay(head, lists)


async def _replay(
    head: list[list[ItemT]], rest: AsyncGenerator[list[ItemT], None]
) -> AsyncGenerator[list[ItemT], None]:
    async with contextlib.aclosing(rest):
        head.reverse()
        while head:
            yield head.pop()
        async for items in rest:
            yield items


class _Slot(Generic[ResultT]):
    """Where one item's result lands; taken in the order the items came."""

    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: list[ResultT] = []  # one result, once done


async def map_in_order(
    items: AsyncGenerator[ItemT, None],
    work: Callable[[ItemT], Awaitable[ResultT]],
    consume: Callable[[ResultT], Awaitable[None]],
    *,
    limit: int,
) -> None:
    """``await consume(await work(item))`` for every item, in the items' order, with up to
    ``limit`` calls of ``work`` running at once.

    Memory is bounded whatever the stream holds: at most ``limit`` items are worked on, and
    at most ``limit + 1`` finished results wait for ``consume`` (a slow ``consume`` holds the
    stream back). The first error, of ``items``, ``work`` or ``consume``, cancels the rest and
    propagates; ``items`` is closed (``aclose``) in any case.

    Example::

        await map_in_order(chunks, describe, stage, limit=8)
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    send, receive = anyio.create_memory_object_stream[_Slot[ResultT]](limit)
    running = anyio.Semaphore(limit)

    async def fill(slot: _Slot[ResultT], item: ItemT) -> None:
        try:
            slot.result.append(await work(item))
        finally:
            running.release()
        slot.done.set()

    async def dispatch() -> None:
        async with send, contextlib.aclosing(items):
            async for item in items:
                await running.acquire()
                slot: _Slot[ResultT] = _Slot()
                group.start_soon(fill, slot, item)
                await send.send(slot)

    with receive:  # closed after the group: a sender is cancelled, never "broken"
        async with task_group() as group:
            group.start_soon(dispatch)
            async for slot in receive:
                await slot.done.wait()
                await consume(slot.result.pop())
