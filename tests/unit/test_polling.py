"""The poller: outcomes, schedule, timeout and cancellation, through the public waiters."""

from __future__ import annotations

import anyio
import httpx
import pytest
import respx

import nexus_async
from nexus_async import PollSchedule, Project
from nexus_async.polling import poll_until_done
from tests.unit import payloads


def _ops(*overviews: str) -> list[httpx.Response]:
    return [httpx.Response(200, json=payloads.operation(o)) for o in overviews]


async def test_returns_the_finished_operation_and_backs_off(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    route = api.get(f"/projects/{project.id}/operations/op_1").mock(
        side_effect=_ops(
            "Queued", "Running", "Running", "Running", "Running", "Running", "Running", "Finished"
        )
    )
    op = await project.operations.wait_until_done("op_1")
    assert op.status.overview == "Finished"
    assert route.call_count == 8
    assert sleeps == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0]  # first check at once, capped at 10 s


async def test_an_operation_already_done_needs_one_request(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    route = api.get(f"/projects/{project.id}/operations/op_1").mock(side_effect=_ops("Finished"))
    await project.operations.wait_until_done("op_1")
    assert route.call_count == 1
    assert sleeps == []


async def test_errored_raises_operation_failed(api: respx.MockRouter, project: Project) -> None:
    api.get(f"/projects/{project.id}/operations/op_1").mock(side_effect=_ops("Running", "Errored"))
    with pytest.raises(nexus_async.OperationFailedError) as caught:
        await project.operations.wait_until_done("op_1")
    assert caught.value.operation_id == "op_1"
    assert caught.value.operation.status.overview == "Errored"
    assert str(caught.value) == "Operation op_1 ended Errored: Operation errored"  # its reason


async def test_cancelled_is_terminal_and_raises(api: respx.MockRouter, project: Project) -> None:
    route = api.get(f"/projects/{project.id}/operations/op_1").mock(side_effect=_ops("Cancelled"))
    with pytest.raises(nexus_async.OperationCancelledError):
        await project.operations.wait_until_done("op_1")
    assert route.call_count == 1


async def test_raise_exception_if_adds_a_failure_state(
    api: respx.MockRouter, project: Project
) -> None:
    api.get(f"/projects/{project.id}/operations/op_1").mock(side_effect=_ops("Queued", "Running"))
    with pytest.raises(nexus_async.OperationFailedError, match="ended Running"):
        await project.operations.wait_until_done("op_1", raise_exception_if="Running")


async def test_timeout_raises_with_the_last_state(api: respx.MockRouter, project: Project) -> None:
    api.get(f"/projects/{project.id}/operations/op_1").respond(json=payloads.operation("Running"))
    schedule = PollSchedule(first_delay=0.01, max_delay=0.01)
    with pytest.raises(nexus_async.OperationTimeoutError) as caught:
        await project.operations.wait_until_done("op_1", timeout=0.05, schedule=schedule)
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.operation.status.overview == "Running"


async def test_task_cancellation_stops_the_poller() -> None:
    calls = 0

    with anyio.CancelScope() as scope:

        async def fetch() -> str:
            nonlocal calls
            calls += 1
            if calls == 3:
                scope.cancel()  # cancelled while polling, after a few checks
            return "Running"

        await poll_until_done(
            fetch,
            state_of=lambda s: s,
            succeeded={"Finished"},
            failed={"Errored"},
            resource_id="op_x",
            schedule=PollSchedule(first_delay=0.01, max_delay=0.05),
        )
    assert scope.cancelled_caught
    seen = calls
    await anyio.sleep(0.1)  # deliberate: ten poll intervals in which nothing may poll
    assert calls == seen  # nothing keeps polling in the background


async def test_on_poll_sees_every_state(api: respx.MockRouter, project: Project) -> None:
    api.get(f"/projects/{project.id}/operations/op_1").mock(
        side_effect=_ops("Queued", "Running", "Finished")
    )
    seen: list[str] = []
    await project.operations.wait_until_done(
        "op_1", on_poll=lambda op: seen.append(op.status.overview)
    )
    assert seen == ["Queued", "Running", "Finished"]


async def test_wait_all_waits_concurrently_in_order(
    api: respx.MockRouter, project: Project
) -> None:
    for op_id in ("op_a", "op_b", "op_c"):
        api.get(f"/projects/{project.id}/operations/{op_id}").mock(
            side_effect=[
                httpx.Response(200, json=payloads.operation("Running", op_id)),
                httpx.Response(200, json=payloads.operation("Finished", op_id)),
            ]
        )
    ops = await project.operations.wait_all(["op_a", "op_b", "op_c"])
    assert [op.id for op in ops] == ["op_a", "op_b", "op_c"]


async def test_wait_all_raises_the_failure_itself(api: respx.MockRouter, project: Project) -> None:
    api.get(f"/projects/{project.id}/operations/op_a").respond(
        json=payloads.operation("Running", "op_a")
    )
    api.get(f"/projects/{project.id}/operations/op_b").respond(
        json=payloads.operation("Errored", "op_b")
    )
    with pytest.raises(nexus_async.OperationFailedError) as caught:
        await project.operations.wait_all(["op_a", "op_b"], schedule=PollSchedule(0.01, 0.01))
    assert caught.value.operation_id == "op_b"


async def test_dataset_waiter_follows_the_dataset_lifecycle(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    states = ["Waiting", "Processing", "Processed", "Uploading", "Uploaded"]
    api.get(f"/projects/{project.id}/batch/datasets/dataset_1").mock(
        side_effect=[httpx.Response(200, json=payloads.dataset(s)) for s in states]
    )
    dataset = await project.batch.datasets.wait_until_done("dataset_1", interval=5)
    assert dataset.status.overview == "Uploaded"
    assert sleeps == [5, 5, 5, 5]


@pytest.mark.parametrize("failure", ["FailedProcessing", "FailedUpload"])
async def test_dataset_failure_raises(
    api: respx.MockRouter, project: Project, failure: str
) -> None:
    api.get(f"/projects/{project.id}/batch/datasets/dataset_1").respond(
        json=payloads.dataset(failure)
    )
    with pytest.raises(nexus_async.OperationFailedError, match=failure):
        await project.batch.datasets.wait_until_done("dataset_1")


def test_invalid_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="schedule"):
        PollSchedule(first_delay=5, max_delay=1)
