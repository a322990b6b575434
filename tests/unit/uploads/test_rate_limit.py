"""uploads/rate_limit.py on its own, on virtual time: the sliding window, per-project budgets,
and how a wait is reported (WARNING + progress) or refused (``on_rate_limit="raise"``)."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

import nexus_async
from nexus_async.uploads.rate_limit import (
    RateLimitWaits,
    SessionCreationLimits,
    SlidingWindowLimiter,
)
from tests.virtual_clock import VirtualClock

CREATE_URL = "https://api.test/projects/proj_1/assetuploadsessions"


@pytest.mark.parametrize(("limit", "window"), [(0, 300.0), (-1, 300.0), (15, 0.0), (15, -5.0)])
def test_a_limiter_needs_a_positive_limit_and_window(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="need limit >= 1 and window > 0"):
        SlidingWindowLimiter(limit, window)


async def test_the_first_limit_acquisitions_do_not_wait(virtual_clock: VirtualClock) -> None:
    limiter = SlidingWindowLimiter(15, 300.0, clock=virtual_clock.clock)
    heard: list[float] = []
    for _ in range(15):
        await limiter.acquire(heard.append)
    assert heard == []
    assert virtual_clock.slept == []
    assert limiter.wait_time() == 300.0


async def test_a_slot_frees_exactly_one_window_after_it_was_taken(
    virtual_clock: VirtualClock,
) -> None:
    limiter = SlidingWindowLimiter(2, 300.0, clock=virtual_clock.clock)
    await limiter.acquire()
    virtual_clock.now += 299.5
    await limiter.acquire()
    heard: list[float] = []
    await limiter.acquire(heard.append)
    assert heard == [0.5]  # the oldest slot frees 300 s after it was taken
    assert virtual_clock.slept == [0.5]
    virtual_clock.now += 1000
    assert limiter.wait_time() == 0.0  # a quiet window forgets every slot


async def test_a_refused_wait_takes_no_slot(virtual_clock: VirtualClock) -> None:
    limiter = SlidingWindowLimiter(1, 300.0, clock=virtual_clock.clock)
    await limiter.acquire()

    def refuse(seconds: float) -> None:
        raise RuntimeError(f"would wait {seconds}")

    with pytest.raises(RuntimeError, match=r"would wait 300\.0"):
        await limiter.acquire(refuse)
    assert virtual_clock.slept == []
    virtual_clock.now += 300
    await limiter.acquire()  # the refused call did not use up the next slot
    assert virtual_clock.slept == []


async def test_concurrent_acquirers_queue_one_window_apart(virtual_clock: VirtualClock) -> None:
    limiter = SlidingWindowLimiter(1, 300.0, clock=virtual_clock.clock)
    granted: list[float] = []

    async def take() -> None:
        await limiter.acquire()
        granted.append(virtual_clock.now)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(take)
    assert granted == [1000.0, 1300.0, 1600.0]


async def test_each_project_has_its_own_budget(virtual_clock: VirtualClock) -> None:
    limits = SessionCreationLimits(1, 300.0, clock=virtual_clock.clock)
    assert limits.limiter("proj_a") is limits.limiter("proj_a")
    assert limits.limiter("proj_a") is not limits.limiter("proj_b")
    await limits.acquire("proj_a")
    await limits.acquire("proj_b")
    assert virtual_clock.slept == []
    await limits.acquire("proj_a")
    assert virtual_clock.slept == [300.0]


async def test_no_limit_means_no_limiter_and_no_wait(virtual_clock: VirtualClock) -> None:
    limits = SessionCreationLimits(None, clock=virtual_clock.clock)
    assert limits.limiter("proj_a") is None
    for _ in range(100):
        await limits.acquire("proj_a")
    assert virtual_clock.slept == []


def test_on_rate_limit_must_be_wait_or_raise() -> None:
    with pytest.raises(nexus_async.InvalidInputError, match='"wait" or "raise"'):
        RateLimitWaits("proj_1", "sometimes")  # type: ignore[arg-type]


def test_a_client_side_wait_is_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    reported: list[float | None] = []
    waits = RateLimitWaits("proj_1", "wait", on_wait=reported.append)
    hook = waits.client_limit(SessionCreationLimits(15, 300.0), CREATE_URL)
    with caplog.at_level(logging.WARNING, logger="nexus_async"):
        hook(12.25)
    waits.done_waiting()
    assert reported == [12.25, None]
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = record.getMessage()
    assert "Waiting 12.2 s for the upload-session limit of project proj_1" in message
    assert "15 per 300 s, this client's own limit" in message


def test_raise_mode_refuses_a_client_side_wait_with_a_429_that_was_never_sent() -> None:
    reported: list[float | None] = []
    waits = RateLimitWaits("proj_1", "raise", on_wait=reported.append)
    hook = waits.client_limit(SessionCreationLimits(15, 300.0), CREATE_URL)
    with pytest.raises(nexus_async.RateLimitError) as caught:
        hook(12.25)
    error = caught.value
    assert (error.status_code, error.code, error.retry_after) == (429, "ClientRateLimit", 12.25)
    assert error.response.headers["Retry-After"] == "13"  # whole seconds, rounded up
    assert error.request is not None
    assert str(error.request.url) == CREATE_URL
    assert "would wait 12.2 s" in error.message
    assert "nothing was sent" in error.message
    assert reported == []  # a refused wait is not shown as a wait


def test_a_server_429_is_announced_in_wait_mode(caplog: pytest.LogCaptureFixture) -> None:
    reported: list[float | None] = []
    waits = RateLimitWaits("proj_1", "wait", on_wait=reported.append)
    with caplog.at_level(logging.WARNING, logger="nexus_async"):
        waits.server_refusal(server_429(), 7.0)
    assert reported == [7.0]
    assert any("the server answered 429" in r.getMessage() for r in caplog.records)


def test_raise_mode_re_raises_the_server_s_429_itself() -> None:
    refusal = server_429()
    waits = RateLimitWaits("proj_1", "raise")
    with pytest.raises(nexus_async.RateLimitError) as caught:
        waits.server_refusal(refusal, 7.0)
    assert caught.value is refusal


@pytest.mark.parametrize("mode", ["wait", "raise"])
def test_other_retried_errors_are_not_rate_limit_waits(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    reported: list[float | None] = []
    waits = RateLimitWaits("proj_1", mode, on_wait=reported.append)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="nexus_async"):
        waits.server_refusal(nexus_async.APIConnectionError("reset"), 1.0)
    assert reported == []
    assert caplog.records == []


def server_429() -> nexus_async.RateLimitError:
    response = httpx.Response(
        429, headers={"Retry-After": "7"}, request=httpx.Request("POST", CREATE_URL)
    )
    return nexus_async.RateLimitError(
        "Too Many Requests", response=response, body={}, retry_after=7.0
    )
