"""One lifecycle for what the SDK creates on the server: the creating call is shielded for a
bounded grace (so its answer is learned), and the rollback is shielded and bounded too."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel
import pytest

from nexus_async._concurrency import request_sent, rollback_on_failure, shielded_call


async def test_the_answer_is_returned_and_handed_over() -> None:
    seen: list[str] = []

    async def create() -> str:
        await anyio.sleep(0.01)
        return "up_1"

    assert await shielded_call(create, on_result=seen.append) == "up_1"
    assert seen == ["up_1"]


async def cancel_once_sent(call: Callable[[], Awaitable[object]], sent: anyio.Event) -> bool:
    """Run ``call`` in a scope cancelled as soon as ``sent`` is set (not after a guessed
    delay, which a loaded machine may outlast); whether the cancellation was caught."""
    scope = anyio.CancelScope()

    async def caller() -> None:
        with scope:
            await call()

    async with anyio.create_task_group() as group:
        group.start_soon(caller)
        await sent.wait()
        scope.cancel()
    return scope.cancelled_caught


async def test_a_cancelled_caller_still_learns_an_answer_that_comes_within_the_grace() -> None:
    seen: list[str] = []
    sent = anyio.Event()
    answer = anyio.Event()

    async def create() -> str:
        request_sent()
        sent.set()
        await answer.wait()  # the answer comes after the caller is cancelled
        return "up_1"

    async def release_after_the_cancel() -> None:
        await sent.wait()
        await anyio.lowlevel.checkpoint()  # the caller's cancellation is delivered first
        answer.set()

    async with anyio.create_task_group() as group:
        group.start_soon(release_after_the_cancel)
        caught = await cancel_once_sent(
            lambda: shielded_call(create, on_result=seen.append, grace=30.0), sent
        )
    assert caught
    assert seen == ["up_1"]  # learned, so the caller's cleanup can roll it back


async def test_a_cancelled_caller_waits_at_most_the_grace() -> None:
    seen: list[str] = []
    finished: list[bool] = []

    sent = anyio.Event()

    async def create() -> str:
        request_sent()
        sent.set()
        await anyio.sleep(5)
        finished.append(True)
        return "up_1"

    started = time.monotonic()  # the grace (0.2 s) is the timing under test
    await cancel_once_sent(lambda: shielded_call(create, on_result=seen.append, grace=0.2), sent)
    assert time.monotonic() - started < 1.0
    assert seen == finished == []


async def test_a_request_not_yet_sent_is_abandoned_at_once() -> None:
    # e.g. still waiting for a pooled connection: nothing went out, nothing can be orphaned.
    seen: list[str] = []

    waiting = anyio.Event()

    async def create() -> str:
        waiting.set()
        await anyio.sleep(5)
        return "up_1"

    started = time.monotonic()  # "at once": far less than the grace of 3 s
    await cancel_once_sent(lambda: shielded_call(create, on_result=seen.append, grace=3.0), waiting)
    assert time.monotonic() - started < 0.5
    assert seen == []


async def test_errors_of_the_call_propagate_unwrapped() -> None:
    async def create() -> str:
        raise KeyError("refused")

    with pytest.raises(KeyError):
        await shielded_call(create, on_result=lambda _: None)


async def test_rollback_runs_on_failure_and_cancellation_only() -> None:
    rolled: list[str] = []

    async def rollback() -> None:
        await anyio.sleep(0.01)
        rolled.append("done")

    async with rollback_on_failure(rollback, describe="roll back"):
        pass
    assert rolled == []
    with pytest.raises(ValueError, match="boom"):
        async with rollback_on_failure(rollback, describe="roll back"):
            raise ValueError("boom")
    assert rolled == ["done"]
    with anyio.move_on_after(0.01):
        async with rollback_on_failure(rollback, describe="roll back"):
            await anyio.sleep(1)
    assert rolled == ["done", "done"]  # ran shielded although the caller was cancelled


async def test_rollback_is_bounded_in_time_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from nexus_async import _concurrency

    monkeypatch.setattr(_concurrency, "CLEANUP_TIMEOUT", 0.1)

    async def stuck() -> None:
        await anyio.sleep(10)

    started = time.monotonic()
    with pytest.raises(ValueError, match="boom"):
        async with rollback_on_failure(stuck, describe="cancel session up_9"):
            raise ValueError("boom")
    assert time.monotonic() - started < 1.0
    assert any(
        "Could not cancel session up_9 within 0.1 s" in r.getMessage() for r in caplog.records
    )
