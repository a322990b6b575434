"""The pipeline stage: results in order whatever order the work finishes in, bounded work and
held results, errors that stop everything, and read-ahead that replays what it read."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import anyio
import anyio.lowlevel
import pytest

from nexus_async.uploads.pipeline import in_chunks, map_in_order, read_ahead


class Source:
    """An async generator of ints whose closing is observed."""

    def __init__(self, count: int, *, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.given = 0
        self.closed = False

    async def items(self) -> AsyncGenerator[int, None]:
        try:
            for item in range(self.count):
                if item == self.fail_at:
                    raise RuntimeError(f"source failed at {item}")
                self.given += 1
                yield item
        finally:
            self.closed = True


async def test_results_come_in_order_whatever_order_the_work_ends_in() -> None:
    releases = {i: anyio.Event() for i in range(6)}
    consumed: list[int] = []
    running = 0
    most = 0

    async def work(item: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await releases[item].wait()
        running -= 1
        return item * 10

    async def consume(result: int) -> None:
        consumed.append(result)

    async def release_backwards() -> None:
        for i in reversed(range(6)):
            await anyio.wait_all_tasks_blocked()
            releases[i].set()

    source = Source(6)
    async with anyio.create_task_group() as group:
        group.start_soon(release_backwards)
        await map_in_order(source.items(), work, consume, limit=6)
    assert consumed == [0, 10, 20, 30, 40, 50]
    assert most == 6
    assert source.closed


async def test_a_slow_consumer_holds_the_stream_back() -> None:
    source = Source(100)
    gate = anyio.Event()
    consumed: list[int] = []

    async def work(item: int) -> int:
        return item

    async def consume(result: int) -> None:
        await gate.wait()
        consumed.append(result)

    async def look_then_open() -> None:
        await anyio.wait_all_tasks_blocked()
        assert source.given <= 2 * 3 + 2  # running + waiting in order, not the whole stream
        gate.set()

    async with anyio.create_task_group() as group:
        group.start_soon(look_then_open)
        await map_in_order(source.items(), work, consume, limit=3)
    assert consumed == list(range(100))


@pytest.mark.parametrize("where", ["source", "work", "consume"])
async def test_the_first_error_stops_everything_and_closes_the_source(where: str) -> None:
    source = Source(50, fail_at=20 if where == "source" else None)

    async def work(item: int) -> int:
        if where == "work" and item == 20:
            raise RuntimeError("work failed at 20")
        await anyio.lowlevel.checkpoint()
        return item

    async def consume(result: int) -> None:
        if where == "consume" and result == 20:
            raise RuntimeError("consume failed at 20")

    with pytest.raises(RuntimeError, match=f"{where} failed at 20"):
        await map_in_order(source.items(), work, consume, limit=4)
    assert source.closed
    assert source.given < 50


async def test_read_ahead_says_whether_more_came_and_replays_everything() -> None:
    async def lists() -> AsyncGenerator[list[int], None]:
        for start in range(0, 30, 4):
            yield list(range(start, min(start + 4, 30)))

    more, replay = await read_ahead(lists(), 10)
    assert more
    assert [item async for chunk in in_chunks(replay, 3) for item in chunk] == list(range(30))
    fewer, replay = await read_ahead(lists(), 30)
    assert not fewer
    assert [item async for chunk in replay for item in chunk] == list(range(30))


async def test_read_ahead_closes_its_source_on_an_error() -> None:
    source = Source(10, fail_at=5)

    async def lists() -> AsyncGenerator[list[int], None]:
        async for item in source.items():
            yield [item]

    with pytest.raises(RuntimeError, match="source failed"):
        await read_ahead(lists(), 100)
    assert source.closed
