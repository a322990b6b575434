"""The clock a client is given is where all its waits go: retries, polls, the session limit.

These tests build their own clients and use no fixture that patches the fallback ``sleep``:
if a wait escaped the injected clock it would really sleep and the tests would time out.
"""

from __future__ import annotations

import anyio
import pytest
import respx

import nexus_async
from nexus_async import AsyncClient, RetryPolicy
from nexus_async.uploads.rate_limit import SessionCreationLimits, SlidingWindowLimiter
from tests.unit import payloads
from tests.unit.conftest import BASE_URL, SECRET
from tests.virtual_clock import VirtualClock

BUSY = {"code": "ServiceUnavailable", "message": "busy"}


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


async def test_retry_waits_go_to_the_client_s_clock(api: respx.MockRouter) -> None:
    virtual = VirtualClock()
    api.get("/workspace").respond(503, json=BUSY, headers={"Retry-After": "30"})
    with anyio.fail_after(5):  # 3 real waits of 30 s would not fit
        async with AsyncClient(SECRET, endpoint=BASE_URL, clock=virtual.clock) as client:
            with pytest.raises(nexus_async.InternalServerError):
                await client.get_info()
    assert virtual.slept == [30.0, 30.0, 30.0]


async def test_derived_clients_keep_the_clock(api: respx.MockRouter) -> None:
    virtual = VirtualClock()
    api.get("/workspace").respond(503, json=BUSY, headers={"Retry-After": "30"})
    async with AsyncClient(SECRET, endpoint=BASE_URL, clock=virtual.clock) as client:
        with anyio.fail_after(5), pytest.raises(nexus_async.InternalServerError):
            await client.with_options(max_retries=1).get_info()
    assert virtual.slept == [30.0]


async def test_polls_wait_on_the_client_s_clock(api: respx.MockRouter) -> None:
    virtual = VirtualClock()
    path = f"/projects/{payloads.PROJECT_ID}/operations/op_1"
    api.get(path).mock(
        side_effect=[
            respx.MockResponse(json=payloads.operation("Running")),
            respx.MockResponse(json=payloads.operation("Running")),
            respx.MockResponse(json=payloads.operation("Finished")),
        ]
    )
    async with AsyncClient(SECRET, endpoint=BASE_URL, clock=virtual.clock) as client:
        project = client.get_project(payloads.PROJECT_ID)
        schedule = nexus_async.PollSchedule(first_delay=60, max_delay=60)
        with anyio.fail_after(5):
            op = await project.operations.wait_until_done("op_1", schedule=schedule)
    assert op.status.overview == "Finished"
    assert virtual.slept == [60, 60]


async def test_the_session_limiter_counts_its_window_on_the_clock() -> None:
    virtual = VirtualClock()
    limiter = SlidingWindowLimiter(2, 300.0, clock=virtual.clock)
    await limiter.acquire()
    virtual.now += 100
    await limiter.acquire()
    assert limiter.wait_time() == 200.0  # the first slot frees 300 s after it was taken
    with anyio.fail_after(5):
        await limiter.acquire()
    assert virtual.slept == [200.0]
    assert limiter.wait_time() == 100.0  # now the second slot is the oldest


async def test_session_limits_hand_their_clock_to_every_project_s_limiter() -> None:
    virtual = VirtualClock()
    limits = SessionCreationLimits(1, 300.0, clock=virtual.clock)
    await limits.acquire("proj_a")
    await limits.acquire("proj_b")  # another project, its own budget: no wait
    with anyio.fail_after(5):
        await limits.acquire("proj_a")
    assert virtual.slept == [300.0]


def test_a_policy_keeps_its_sleep_when_derived() -> None:
    virtual = VirtualClock()
    policy = RetryPolicy(max_retries=2, sleep=virtual.sleep).replace(max_retries=5)
    assert policy.sleep == virtual.sleep
    assert policy == RetryPolicy(max_retries=5)  # the sleep is not part of the policy's value


async def test_a_bare_call_retries_on_the_policy_s_sleep() -> None:
    # RetryPolicy.call (the storage transfers' retry path) waits on the injected sleep too.
    virtual = VirtualClock()
    policy = RetryPolicy(max_retries=2, sleep=virtual.sleep)
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise nexus_async.APIConnectionError("connection reset")
        return "stored"

    with anyio.fail_after(5):
        assert await policy.call(flaky, idempotent=True, describe="PUT /b/a.png") == "stored"
    assert attempts == 3
    assert len(virtual.slept) == 2
