"""HTTP tests: control plane (reset, seed, faults, stats) and fault injection in-process."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from nexus_async.emulator import ConnectionDropped, Emulator

from .conftest import create_session, png_bytes, put_signed, upload_assets


async def test_seed_and_reset(client: httpx.AsyncClient, emulator: Emulator) -> None:
    image = base64.b64encode(png_bytes(400, 243)).decode()
    seed = {
        "workspaces": [
            {
                "secret_key": "seeded-key",
                "projects": [
                    {
                        "name": "Seeded",
                        "type": "Classification",
                        "custom_statuses": ["Checked"],
                        "workflows": [{"title": "Flow A"}],
                        "assets": [
                            {
                                "filename": "boat.png",
                                "content_base64": image,
                                "custom_metadata": {"k": "v"},
                                "annotations": [
                                    {"tag": "boat", "bound_type": "Classification", "bound": []}
                                ],
                            },
                            {"filename": "empty.jpg", "size": 10},
                        ],
                    },
                    {"type": "Keypoint"},
                ],
            }
        ]
    }
    response = await client.post("/_emulator/seed", json=seed)
    created = response.json()["workspaces"][0]
    assert created["secret_key"] == "seeded-key"
    project = created["projects"][0]
    assert len(project["workflows"]) == 1
    assert len(project["assets"][0]["annotations"]) == 1
    headers = {"Secret-Key": "seeded-key"}
    asset = (await client.get(f"/projects/{project['id']}/assets/boat.png", headers=headers)).json()
    assert (asset["metadata"]["width"], asset["metadata"]["height"]) == (400, 243)
    assert asset["metadata"]["customMetadata"] == {"k": "v"}
    projects = (await client.get("/workspace/projects", headers=headers)).json()
    assert [p["type"] for p in projects] == ["Classification", "Keypoint"]
    bad = await client.post("/_emulator/seed", json={"workspaces": [{"projects": [{"type": "X"}]}]})
    assert bad.status_code == 400
    old_key = emulator.secret_key
    reset = (await client.post("/_emulator/reset")).json()
    assert reset["project_id"] == emulator.project_id
    assert reset["secret_key"] != old_key
    assert (await client.get("/workspace", headers=headers)).status_code == 403


async def test_stats_counts_requests_and_storage_headers(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    await upload_assets(client, storage, pid, {"a.png": png_bytes(1, 1)})
    stats = (await client.get("/_emulator/stats")).json()
    assert stats["requests"]["upload_session_create"] == 1
    assert stats["requests"]["storage"] == 1
    assert stats["created"]["upload_sessions"] == 1
    assert stats["assets_stored"] == 1
    assert stats["storage"]["bytes_received"] == len(png_bytes(1, 1))
    assert "x-goog-hash" in stats["storage"]["header_names"]
    assert "secret-key" not in stats["storage"]["header_names"]


async def test_fault_status_retry_after_and_times(client: httpx.AsyncClient, pid: str) -> None:
    rule = {"route": "project_get", "status": 503, "retry_after": 7, "times": 2}
    added = (await client.post("/_emulator/faults", json=rule)).json()
    assert added["id"] == 1
    for _ in range(2):
        failed = await client.get(f"/projects/{pid}")
        assert failed.status_code == 503
        assert failed.headers["retry-after"] == "7"
        assert failed.json()["code"] == "InternalServerError"
    assert (await client.get(f"/projects/{pid}")).status_code == 200
    assert (await client.get("/workspace")).status_code == 200


async def test_fault_by_method_and_path_pattern(client: httpx.AsyncClient, pid: str) -> None:
    await client.post(
        "/_emulator/faults", json={"method": "GET", "path": "/workflows$", "status": 429}
    )
    assert (await client.get(f"/projects/{pid}/workflows")).status_code == 429
    assert (await client.get(f"/projects/{pid}")).status_code == 200
    assert (await client.delete("/_emulator/faults")).json() == {"cleared": True}
    assert (await client.get(f"/projects/{pid}/workflows")).status_code == 200


async def test_fault_error_rate_is_reproducible(client: httpx.AsyncClient, pid: str) -> None:
    async def run() -> list[int]:
        await client.delete("/_emulator/faults")
        await client.post(
            "/_emulator/faults",
            json={"route": "project_get", "status": 500, "error_rate": 0.5, "seed": 42},
        )
        return [(await client.get(f"/projects/{pid}")).status_code for _ in range(20)]

    first = await run()
    assert first == await run()
    assert 200 in first
    assert 500 in first


async def test_fault_latency(client: httpx.AsyncClient, pid: str) -> None:
    await client.post("/_emulator/faults", json={"route": "project_get", "latency_ms": [80, 100]})
    started = time.perf_counter()
    assert (await client.get(f"/projects/{pid}")).status_code == 200
    assert time.perf_counter() - started >= 0.08


async def test_fault_after_processes_the_request(
    client: httpx.AsyncClient, pid: str, emulator: Emulator
) -> None:
    await client.post(
        "/_emulator/faults",
        json={"route": "upload_session_create", "status": 502, "when": "after", "times": 1},
    )
    failed = await create_session(client, pid, {"a.png": b"1"})
    assert failed.status_code == 502
    assert emulator.stats()["created"]["upload_sessions"] == 1
    assert emulator.stats()["open_upload_sessions"] == 1


async def test_fault_drop_in_process(client: httpx.AsyncClient, pid: str) -> None:
    emulator_rule = {"route": "workspace_get", "drop": True, "times": 1}
    await client.post("/_emulator/faults", json=emulator_rule)
    with pytest.raises(ConnectionDropped):
        await client.get("/workspace")
    assert (await client.get("/workspace")).status_code == 200


async def test_storage_faults(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    data = png_bytes(1, 1)
    session = (await create_session(client, pid, {"a.png": data})).json()
    await client.post("/_emulator/faults", json={"route": "storage", "status": 503, "times": 1})
    upload = session["assets"][0]["upload"]
    failed = await put_signed(storage, upload, data)
    assert failed.status_code == 503
    assert failed.headers["content-type"] == "application/xml"
    assert (await put_signed(storage, upload, data)).status_code == 200


async def test_bad_fault_rules_are_400(client: httpx.AsyncClient) -> None:
    for rule in (
        {"when": "later"},
        {"error_rate": 2},
        {"status": 99},
        {"latency_ms": "slow"},
        {"path": "("},
        {"bogus": 1},
        {"times": "x"},
    ):
        response = await client.post("/_emulator/faults", json=rule)
        assert response.status_code == 400, rule
    assert (await client.get("/_emulator/faults")).json() == []


async def test_timing_can_be_changed_at_run_time(client: httpx.AsyncClient) -> None:
    changed = await client.post("/_emulator/timing", json={"queue_ms": 5, "processing_ms": 7})
    assert changed.json() == {"queue_ms": 5, "processing_ms": 7}
    bad = await client.post("/_emulator/timing", json={"queue_ms": -1})
    assert bad.status_code == 400
    info = (await client.get("/_emulator/info")).json()
    assert set(info) == {"secret_key", "workspace_id", "project_id"}
