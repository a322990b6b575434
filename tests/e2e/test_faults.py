"""Retries against real faults injected by the emulator's control plane."""

from __future__ import annotations

import pytest

import nexus_async
from nexus_async import AsyncClient, Project
from nexus_async.testing import EmulatorServer

BOX = [[0.1, 0.1], [0.1, 0.5], [0.5, 0.5], [0.5, 0.1]]


async def test_transient_5xx_on_reads_are_healed(
    client: AsyncClient, server: EmulatorServer, sleeps: list[float]
) -> None:
    server.control.add_fault({"method": "GET", "path": "^/workspace$", "status": 503, "times": 2})
    assert (await client.get_info()).id == server.workspace_id
    assert len(sleeps) == 2
    assert server.control.stats()["faults"]["triggered"] == 2


async def test_dropped_connections_on_reads_are_healed(
    client: AsyncClient, server: EmulatorServer
) -> None:
    server.control.add_fault({"method": "GET", "path": "^/workspace$", "drop": True, "times": 1})
    assert (await client.get_info()).id == server.workspace_id


async def test_a_lost_post_response_does_not_create_a_duplicate(
    seeded: Project, server: EmulatorServer
) -> None:
    asset = await seeded.assets.get("a.png")
    server.control.add_fault(
        {"method": "POST", "path": "/annotations$", "drop": True, "when": "after", "times": 1}
    )
    with pytest.raises(nexus_async.APIConnectionError) as caught:
        await seeded.annotations.create(
            {"asset_id": asset.id, "tag": "boat", "bound_type": "Rectangle", "bound": BOX}
        )
    assert caught.value.may_have_reached_server
    assert server.control.stats()["created"]["annotations"] == 1  # processed once, never resent
    assert len((await seeded.annotations.list()).data) == 1


async def test_a_post_refused_with_retry_after_is_retried(
    seeded: Project, server: EmulatorServer, sleeps: list[float]
) -> None:
    asset = await seeded.assets.get("a.png")
    server.control.add_fault(
        {"method": "POST", "path": "/annotations$", "status": 429, "retry_after": 3, "times": 1}
    )
    await seeded.annotations.create(
        {"asset_id": asset.id, "tag": "boat", "bound_type": "Rectangle", "bound": BOX}
    )
    assert sleeps == [3.0]
    assert server.control.stats()["created"]["annotations"] == 1


async def test_a_post_answered_500_after_processing_is_not_resent(
    seeded: Project, server: EmulatorServer
) -> None:
    asset = await seeded.assets.get("a.png")
    server.control.add_fault(
        {"method": "POST", "path": "/annotations$", "status": 500, "when": "after", "times": 1}
    )
    with pytest.raises(nexus_async.InternalServerError):
        await seeded.annotations.create(
            {"asset_id": asset.id, "tag": "boat", "bound_type": "Rectangle", "bound": BOX}
        )
    assert server.control.stats()["created"]["annotations"] == 1


async def test_persistent_failure_raises_after_the_retry_budget(
    client: AsyncClient, server: EmulatorServer, sleeps: list[float]
) -> None:
    server.control.add_fault({"method": "GET", "path": "^/workspace$", "status": 502})
    with pytest.raises(nexus_async.InternalServerError) as caught:
        await client.get_info()
    assert caught.value.status_code == 502
    assert server.control.stats()["faults"]["triggered"] == 4  # 1 attempt + 3 retries
    assert len(sleeps) == 3


async def test_an_unreachable_server_is_a_connection_error(sleeps: list[float]) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AsyncClient("key", endpoint=f"http://127.0.0.1:{port}") as client:
        with pytest.raises(nexus_async.APIConnectionError) as caught:
            await client.get_info()
    assert caught.value.may_have_reached_server is False
    assert len(sleeps) == 3
