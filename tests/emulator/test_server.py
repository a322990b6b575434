"""Tests against real servers: thread server, subprocess server, pytest fixture and the CLI."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from nexus_async.emulator import EmulatorConfig, EmulatorServer
from tests.processes import emulator_command

from .conftest import open_upload, png_bytes


def test_fixture_serves_the_api(nexus_emulator: EmulatorServer) -> None:
    assert nexus_emulator.base_url.startswith("http://127.0.0.1:")
    headers = {"Secret-Key": nexus_emulator.secret_key or ""}
    with httpx.Client(base_url=nexus_emulator.base_url, headers=headers) as client:
        workspace = client.get("/workspace").json()
        assert workspace["id"] == nexus_emulator.workspace_id
        project = client.get(f"/projects/{nexus_emulator.project_id}").json()
        assert project["type"] == "ObjectDetection"
    assert nexus_emulator.control.stats()["requests"]["workspace_get"] == 1


def test_upload_over_real_http_and_signed_url_origin(nexus_emulator: EmulatorServer) -> None:
    data = png_bytes(32, 16)
    session = open_upload(nexus_emulator, data)
    upload = session["assets"][0]["upload"]
    assert upload["url"].startswith(nexus_emulator.base_url + "/_storage/")
    with httpx.Client() as storage:
        stored = storage.request(
            upload["method"], upload["url"], headers=upload["headers"], content=data
        )
    assert stored.status_code == 200
    operation = httpx.get(
        f"{nexus_emulator.base_url}/projects/{nexus_emulator.project_id}/operations/{session['opId']}",
        headers={"Secret-Key": nexus_emulator.secret_key or ""},
    ).json()
    assert operation["status"]["overview"] == "Finished"
    stats = nexus_emulator.control.stats()
    assert "secret-key" not in stats["storage"]["header_names"]
    assert stats["storage"]["bytes_received"] == len(data)


@pytest.mark.parametrize("when", ["before", "after"])
def test_dropped_connection_is_a_connection_error(
    nexus_emulator: EmulatorServer, when: str
) -> None:
    control = nexus_emulator.control
    control.add_fault({"route": "upload_session_create", "drop": True, "when": when, "times": 1})
    headers = {"Secret-Key": nexus_emulator.secret_key or ""}
    body = {"assets": [{"filename": "a.png", "size": 1, "crc32c": 0, "mime": "image/png"}]}
    url = f"/projects/{nexus_emulator.project_id}/assetuploadsessions"
    with httpx.Client(base_url=nexus_emulator.base_url, headers=headers) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(url, json=body)
        assert client.post(url, json=body).status_code == 200
    created = control.stats()["created"]["upload_sessions"]
    assert created == (2 if when == "after" else 1)


async def test_async_context_manager_with_subprocess() -> None:
    server = EmulatorServer(mode="subprocess", cli_args=["--secret-key", "sub-key"])
    async with server:
        assert server.secret_key == "sub-key"
        async with httpx.AsyncClient(
            base_url=server.base_url, headers={"Secret-Key": "sub-key"}
        ) as client:
            assert (await client.get("/workspace")).json()["id"] == server.workspace_id
        server.control.reset()
        assert server.control.set_timing(0, 10) == {"queue_ms": 0, "processing_ms": 10}
    assert server._process is None


def test_cli_prints_json_line_and_stops_on_sigterm() -> None:
    with emulator_command(
        "nexus_async.emulator", "--no-rate-limit", "--timing", "realistic"
    ) as info:
        assert set(info) == {"base_url", "secret_key", "workspace_id", "project_id"}
        response = httpx.get(
            info["base_url"] + "/workspace/projects", headers={"Secret-Key": info["secret_key"]}
        )
        assert [p["id"] for p in response.json()] == [info["project_id"]]


def test_cli_without_default_project_and_with_seed_file(tmp_path: Path) -> None:
    seed = {"workspaces": [{"secret_key": "from-file", "projects": [{"name": "P"}]}]}
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    with EmulatorServer(
        mode="subprocess", cli_args=["--no-default-project", "--seed-file", str(path)]
    ) as server:
        assert server.secret_key is None
        response = httpx.get(
            server.base_url + "/workspace/projects", headers={"Secret-Key": "from-file"}
        )
        assert [p["name"] for p in response.json()] == ["P"]


def test_thread_server_exposes_in_process_emulator() -> None:
    with EmulatorServer(EmulatorConfig(default_secret_key="fixed")) as server:
        assert server.emulator is not None
        assert server.secret_key == "fixed"
        root = server.emulator.blobs.root
        assert root.exists()
    assert not root.exists()


def test_client_disconnect_mid_upload_stores_nothing(nexus_emulator: EmulatorServer) -> None:
    data = png_bytes(8, 8, extra=b"z" * 100_000)
    upload = open_upload(nexus_emulator, data)["assets"][0]["upload"]
    url = httpx.URL(upload["url"])
    lines = [f"PUT {url.raw_path.decode()} HTTP/1.1", f"Host: {url.host}:{url.port}"]
    lines += [f"{k}: {v}" for k, v in upload["headers"].items()]
    lines.append(f"Content-Length: {len(data)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection((url.host, url.port or 80)) as sock:
        sock.sendall(head + data[: len(data) // 2])
    deadline = time.monotonic() + 5
    while nexus_emulator.control.stats()["storage"]["requests"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert nexus_emulator.control.stats()["assets_stored"] == 0  # half a body stores nothing
    stored = httpx.request(upload["method"], upload["url"], headers=upload["headers"], content=data)
    assert stored.status_code == 200


def test_the_testing_helpers_import_without_pytest() -> None:
    # `pip install "nexus-async[emulator]"` brings no pytest; the README imports EmulatorServer.
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "import importlib.util, builtins\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'pytest' else real(n, *a)\n"
        "from nexus_async.testing import EmulatorServer\n"
        "print(EmulatorServer.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "EmulatorServer"


async def test_the_async_control_plane_does_not_block_the_event_loop() -> None:
    import asyncio

    from nexus_async.testing import EmulatorServer

    async with EmulatorServer() as server:
        control = server.async_control
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.ensure_future(tick())
        rule = await control.add_fault({"route": "storage", "status": 503})
        stats = await control.stats()
        await control.clear_faults()
        ticker.cancel()
        assert rule["id"] >= 1
        assert stats["faults"]["rules"][0]["status"] == 503
        assert (await control.stats())["faults"]["rules"] == []
        assert ticks > 0  # the loop ran while the control calls were in flight
