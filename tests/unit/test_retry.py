"""What is retried, what is not, and how long the SDK waits (sleeps recorded, not slept)."""

from __future__ import annotations

import httpx
import pytest
import respx

import nexus_async
from nexus_async import AsyncClient, Project, RetryPolicy
from tests.unit import payloads

ANNOTATION = {
    "asset_id": "asset_1",
    "tag": "boat",
    "bound_type": "Rectangle",
    "bound": [[0, 0], [0, 1], [1, 1], [1, 0]],
}
BUSY = {"code": "InternalServerError", "message": "busy"}


def _failing_then(
    status: int, then: dict[str, object], *, times: int = 1, headers: dict[str, str] | None = None
) -> list[httpx.Response]:
    return [httpx.Response(status, json=BUSY, headers=headers) for _ in range(times)] + [
        httpx.Response(200, json=then)
    ]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_get_is_retried_on_transient_statuses(
    api: respx.MockRouter, client: AsyncClient, sleeps: list[float], status: int
) -> None:
    route = api.get("/workspace").mock(
        side_effect=_failing_then(status, payloads.workspace(), times=2)
    )
    workspace = await client.get_info()
    assert workspace.name == "Raighne's Workspace"
    assert route.call_count == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("reset")],
)
async def test_get_is_retried_on_connection_failures(
    api: respx.MockRouter, client: AsyncClient, error: Exception
) -> None:
    route = api.get("/workspace").mock(
        side_effect=[error, httpx.Response(200, json=payloads.workspace())]
    )
    await client.get_info()
    assert route.call_count == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
async def test_client_errors_are_never_retried(
    api: respx.MockRouter, client: AsyncClient, sleeps: list[float], status: int
) -> None:
    route = api.get("/workspace").respond(status, json={"code": "X", "message": "no"})
    with pytest.raises(nexus_async.APIStatusError):
        await client.get_info()
    assert route.call_count == 1
    assert sleeps == []


async def test_retries_stop_after_max_retries(
    api: respx.MockRouter, client: AsyncClient, sleeps: list[float]
) -> None:
    route = api.get("/workspace").respond(503, json=BUSY)
    with pytest.raises(nexus_async.InternalServerError):
        await client.get_info()
    assert route.call_count == 4  # 1 + DEFAULT_MAX_RETRIES
    assert len(sleeps) == 3


async def test_backoff_grows_with_jitter_and_is_capped(sleeps: list[float]) -> None:
    policy = RetryPolicy(max_retries=6, initial_delay=0.5, max_delay=8.0)
    delays = [policy.delay(attempt, None) for attempt in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), ("3600", 60.0)])
async def test_retry_after_is_honoured_and_capped(
    api: respx.MockRouter, client: AsyncClient, sleeps: list[float], header: str, expected: float
) -> None:
    api.get("/workspace").mock(
        side_effect=_failing_then(429, payloads.workspace(), headers={"Retry-After": header})
    )
    await client.get_info()
    assert sleeps == [expected]


async def test_retry_after_as_http_date(
    api: respx.MockRouter, client: AsyncClient, sleeps: list[float]
) -> None:
    api.get("/workspace").mock(
        side_effect=_failing_then(
            503, payloads.workspace(), headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
        )
    )
    await client.get_info()
    assert sleeps == [0.0]  # a date in the past means "now"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_post_is_not_retried_when_it_may_have_been_processed(
    api: respx.MockRouter, project: Project, status: int
) -> None:
    route = api.post(f"/projects/{project.id}/annotations").respond(status, json=BUSY)
    with pytest.raises(nexus_async.InternalServerError):
        await project.annotations.create(ANNOTATION)
    assert route.call_count == 1


async def test_post_is_not_retried_after_a_read_timeout(
    api: respx.MockRouter, project: Project
) -> None:
    route = api.post(f"/projects/{project.id}/annotations").mock(
        side_effect=httpx.ReadTimeout("lost")
    )
    with pytest.raises(nexus_async.APITimeoutError):
        await project.annotations.create(ANNOTATION)
    assert route.call_count == 1


async def test_patch_is_not_retried_after_a_dropped_connection(
    api: respx.MockRouter, project: Project
) -> None:
    route = api.patch(f"/projects/{project.id}").mock(
        side_effect=httpx.RemoteProtocolError("dropped")
    )
    with pytest.raises(nexus_async.APIConnectionError):
        await project.update({"name": "Dogs"})
    assert route.call_count == 1


async def test_post_is_retried_when_the_connection_never_opened(
    api: respx.MockRouter, project: Project
) -> None:
    route = api.post(f"/projects/{project.id}/annotations").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=payloads.annotation())]
    )
    created = await project.annotations.create(ANNOTATION)
    assert created.id == "annot_1"
    assert route.call_count == 2


@pytest.mark.parametrize("status", [429, 503])
async def test_post_is_retried_when_refused_with_retry_after(
    api: respx.MockRouter, project: Project, sleeps: list[float], status: int
) -> None:
    route = api.post(f"/projects/{project.id}/annotations").mock(
        side_effect=_failing_then(status, payloads.annotation(), headers={"Retry-After": "2"})
    )
    await project.annotations.create(ANNOTATION)
    assert route.call_count == 2
    assert sleeps == [2.0]


async def test_post_429_without_retry_after_is_not_retried(
    api: respx.MockRouter, project: Project
) -> None:
    route = api.post(f"/projects/{project.id}/annotations").respond(429, json=BUSY)
    with pytest.raises(nexus_async.RateLimitError):
        await project.annotations.create(ANNOTATION)
    assert route.call_count == 1


async def test_delete_is_retried_as_idempotent(api: respx.MockRouter, project: Project) -> None:
    route = api.delete(f"/projects/{project.id}/workflows/flow_1").mock(
        side_effect=_failing_then(500, {"deleted": True, "id": "flow_1"})
    )
    assert (await project.workflows.delete("flow_1")).deleted is True
    assert route.call_count == 2


async def test_max_retries_per_call_and_per_client(
    api: respx.MockRouter, client: AsyncClient, sleeps: list[float]
) -> None:
    route = api.get("/workspace").respond(503, json=BUSY)
    with pytest.raises(nexus_async.InternalServerError):
        await client.get_info(max_retries=0)
    assert route.call_count == 1
    with pytest.raises(nexus_async.InternalServerError):
        await client.with_options(max_retries=1).get_info()
    assert route.call_count == 3


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(nexus_async.ConfigurationError):
        AsyncClient("key", max_retries=-1)


async def test_a_rollback_post_is_retried_after_a_dropped_connection(
    api: respx.MockRouter, client: AsyncClient, sleeps: list[float]
) -> None:
    # A rollback is safe to repeat (a second cancel answers 409), unlike other POSTs.
    path = f"/projects/{payloads.PROJECT_ID}/assetuploadsessions/up_1:cancel"
    route = api.post(path).mock(
        side_effect=[
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            httpx.Response(200, json={"cancelled": True, "id": "up_1"}),
        ]
    )
    answer = await client._transport.request("POST", path, cleanup=True)
    assert answer == {"cancelled": True, "id": "up_1"}
    assert route.call_count == 2
    with pytest.raises(nexus_async.APIConnectionError):
        route.side_effect = [httpx.RemoteProtocolError("reset")]
        await client._transport.request("POST", path)  # an ordinary POST is not retried
