"""Waits for the upload-session limit are never silent: a WARNING with the wait, progress, or
``on_rate_limit="raise"`` raising RateLimitError before anything is sent."""

from __future__ import annotations

import logging
import time

import anyio
import pytest
import respx

from nexus_async import AsyncClient, RateLimitError
from nexus_async.uploads import rate_limit
from nexus_async.uploads.asset_session import UploadProgress
from tests.media import png_bytes
from tests.unit import payloads
from tests.unit.conftest import BASE_URL, SECRET
from tests.unit.uploads.test_asset_session import STORAGE, P, echo_session
from tests.virtual_clock import VirtualClock


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(assert_all_called=False) as router:
        router.get(P).respond(json=payloads.project())
        router.put(url__startswith=STORAGE).respond(200)
        router.get(url__startswith=f"{P}/operations/").respond(
            json=payloads.operation("Finished", "op_up_1")
        )
        yield router


async def upload_two_sessions(client: AsyncClient, **options: object) -> list[UploadProgress]:
    seen: list[UploadProgress] = []

    def progress(state: UploadProgress) -> None:
        seen.append(UploadProgress(**vars(state)))

    for name in ("a.png", "b.png"):
        async with client.get_project(payloads.PROJECT_ID).assets.create_upload_session(
            background=True, progress=progress, **options
        ) as session:
            await session.add_bytes(png_bytes(2, 2), name)
    return seen


async def test_a_client_side_wait_logs_a_warning_and_shows_in_progress(
    api: respx.MockRouter, virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    async with AsyncClient(
        SECRET, endpoint=BASE_URL, clock=virtual_clock.clock, upload_sessions_per_window=1
    ) as client:
        with caplog.at_level(logging.WARNING, logger="nexus_async"):
            seen = await upload_two_sessions(client)
    assert virtual_clock.slept == [300.0]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Waiting 300.0 s for the upload-session limit" in warnings[0]
    assert "1 per 300 s" in warnings[0]
    waits = [state.rate_limit_wait for state in seen]
    assert 300.0 in waits
    assert waits[-1] is None  # the wait is over once the session is created


async def test_on_rate_limit_raise_refuses_the_client_side_wait_before_sending(
    api: respx.MockRouter, virtual_clock: VirtualClock
) -> None:
    create = api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    async with AsyncClient(
        SECRET, endpoint=BASE_URL, clock=virtual_clock.clock, upload_sessions_per_window=1
    ) as client:
        with pytest.raises(RateLimitError) as caught:
            await upload_two_sessions(client, on_rate_limit="raise")
    assert create.call_count == 1  # the second session was never announced
    assert virtual_clock.slept == []
    error = caught.value
    assert (error.status_code, error.code, error.retry_after) == (429, "ClientRateLimit", 300.0)
    assert "nothing was sent" in str(error)


async def test_a_server_429_wait_is_logged_with_its_length(
    api: respx.MockRouter, virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    refusal = respx.MockResponse(
        429, json={"message": "Too Many Requests"}, headers={"Retry-After": "7"}
    )
    api.post(f"{P}/assetuploadsessions").mock(side_effect=[refusal, echo_session])
    async with AsyncClient(
        SECRET, endpoint=BASE_URL, clock=virtual_clock.clock, upload_sessions_per_window=None
    ) as client:
        with caplog.at_level(logging.WARNING, logger="nexus_async"):
            async with client.get_project(payloads.PROJECT_ID).assets.create_upload_session(
                background=True
            ) as session:
                await session.add_bytes(png_bytes(2, 2), "a.png")
    assert virtual_clock.slept == [7.0]
    assert any(
        "Waiting 7.0 s" in r.getMessage() and "server answered 429" in r.getMessage()
        for r in caplog.records
    )


async def test_on_rate_limit_raise_does_not_retry_a_server_429(
    api: respx.MockRouter, virtual_clock: VirtualClock
) -> None:
    refusal = respx.MockResponse(
        429, json={"message": "Too Many Requests"}, headers={"Retry-After": "7"}
    )
    create = api.post(f"{P}/assetuploadsessions").mock(side_effect=[refusal, echo_session])
    async with AsyncClient(SECRET, endpoint=BASE_URL, clock=virtual_clock.clock) as client:
        with pytest.raises(RateLimitError) as caught:
            async with client.get_project(payloads.PROJECT_ID).assets.create_upload_session(
                on_rate_limit="raise"
            ) as session:
                await session.add_bytes(png_bytes(2, 2), "a.png")
    assert create.call_count == 1
    assert caught.value.retry_after == 7.0
    assert virtual_clock.slept == []


async def test_cancelling_during_retry_after_returns_at_once(api: respx.MockRouter) -> None:
    # Only the POST in flight is shielded, never the Retry-After wait (issue 9: ~20 s before).
    refusal = respx.MockResponse(
        429, json={"message": "Too Many Requests"}, headers={"Retry-After": "5"}
    )
    create = api.post(f"{P}/assetuploadsessions").mock(return_value=refusal)
    async with AsyncClient(SECRET, endpoint=BASE_URL) as client:
        started = time.monotonic()
        with anyio.move_on_after(0.5):
            async with client.get_project(
                payloads.PROJECT_ID
            ).assets.create_upload_session() as session:
                await session.add_bytes(png_bytes(2, 2), "a.png")
        elapsed = time.monotonic() - started
    assert create.call_count == 1
    assert elapsed < 1.5


def test_on_rate_limit_is_checked_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match='on_rate_limit must be "wait" or "raise"'):
        rate_limit.RateLimitWaits("proj_1", "later")  # type: ignore[arg-type]
