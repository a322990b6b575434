"""Storage workers (``--storage-workers``), atomic blob writes and O(1) operation reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nexus_async import AsyncClient
from nexus_async.emulator import Emulator, EmulatorServer
from nexus_async.emulator.blobs import BlobWriter
from nexus_async.emulator.state.models import UploadSession
from tests.emulator.conftest import crc_signed, create_session, put_signed
from tests.media import png_bytes


@pytest.fixture(scope="module")
def workers_server() -> Iterator[EmulatorServer]:
    args = ["--storage-workers", "2"]  # starting 3 processes took 15-18 s on a loaded machine
    with EmulatorServer(mode="subprocess", cli_args=args, startup_timeout=90.0) as server:
        yield server


def test_sdk_upload_through_two_storage_workers(
    workers_server: EmulatorServer, tmp_path: Path
) -> None:
    server = workers_server
    for i in range(20):
        (tmp_path / f"w{i}.png").write_bytes(png_bytes(i + 1, 2))

    async def upload() -> int:
        async with AsyncClient(server.secret_key or "", endpoint=server.base_url) as client:
            project = client.get_project(server.project_id or "")
            async with project.assets.create_upload_session() as session:
                await session.add_path(tmp_path)
            return len([a async for a in project.assets.iter(limit=100)])

    before = server.control.stats()["storage"]
    assert asyncio.run(upload()) >= 20
    stats = server.control.stats()
    assert stats["storage"]["requests"] - before["requests"] == 20
    assert stats["storage"]["bytes_received"] - before["bytes_received"] == sum(
        (tmp_path / f"w{i}.png").stat().st_size for i in range(20)
    )
    assert "secret-key" not in stats["storage"]["header_names"]
    assert stats["open_upload_sessions"] == 0


def test_workers_serve_item_urls_on_their_own_origin_with_faults_and_replay_refusal(
    workers_server: EmulatorServer,
) -> None:
    server = workers_server
    control = server.control
    headers = {"Secret-Key": server.secret_key or ""}
    data = png_bytes(3, 3)
    with httpx.Client(base_url=server.base_url, headers=headers) as api, httpx.Client() as raw:
        pid = server.project_id
        body = {
            "assets": [
                {
                    "filename": "fault.png",
                    "size": len(data),
                    "mime": "image/png",
                    "crc32c": crc_signed(data),
                }
            ]
        }
        session = api.post(f"/projects/{pid}/assetuploadsessions", json=body).json()
        upload = session["assets"][0]["upload"]
        assert not upload["url"].startswith(server.base_url)
        control.add_fault({"route": "storage", "status": 503, "times": 1})
        first = raw.put(upload["url"], headers=upload["headers"], content=data)
        assert first.status_code == 503
        assert first.headers["content-type"] == "application/xml"
        assert raw.put(upload["url"], headers=upload["headers"], content=data).status_code == 200
        assert control.stats()["faults"]["rules"][0]["triggered"] == 1
        control.clear_faults()
        operation = api.get(f"/projects/{pid}/operations/{session['opId']}").json()
        assert operation["status"]["overview"] == "Finished"
        replay = raw.put(upload["url"], headers=upload["headers"], content=data)
        assert replay.status_code == 403
        tampered = raw.put(
            upload["url"].replace("/0?", "/1?"), headers=upload["headers"], content=data
        )
        assert tampered.status_code == 403
        wrong = raw.put(upload["url"], headers=upload["headers"], content=data + b"x")
        assert wrong.status_code in (400, 403)


def test_an_interrupted_blob_write_leaves_nothing(tmp_path: Path) -> None:
    final = tmp_path / "assets" / "up_x" / "0"
    writer = BlobWriter(final)
    writer.write(b"half a body")
    writer.discard()
    assert not final.exists()
    assert list(final.parent.iterdir()) == []


async def test_a_dropped_connection_mid_body_stores_no_blob(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, emulator: Emulator
) -> None:
    data = png_bytes(4, 4)
    session = (await create_session(client, pid, {"a.png": data})).json()
    upload = session["assets"][0]["upload"]

    async def cut_short() -> object:
        yield data[:10]
        raise ConnectionResetError("client gone")

    with pytest.raises(ConnectionResetError):
        await storage.put(upload["url"], headers=upload["headers"], content=cut_short())
    blobs = emulator.blobs.root
    assert [p for p in blobs.rglob("*") if p.is_file()] == []
    assert (await put_signed(storage, upload, data)).status_code == 200


class _CountingItems(list):  # type: ignore[type-arg]
    """A list that counts iterations (the read path must not walk the items)."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        _CountingItems.walks += 1
        return super().__iter__()


async def test_operation_reads_do_not_walk_the_items(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, emulator: Emulator
) -> None:
    files = {f"{i}.png": png_bytes(1, 1) for i in range(50)}
    session = (await create_session(client, pid, files)).json()
    for asset in session["assets"][:10]:
        assert (await put_signed(storage, asset["upload"], png_bytes(1, 1))).status_code == 200
    state_session: UploadSession = emulator.state.store.upload_sessions[session["id"]]
    state_session.items = _CountingItems(state_session.items)
    _CountingItems.walks = 0
    operation = (await client.get(f"/projects/{pid}/operations/{session['opId']}")).json()
    assert operation["status"]["progress"]["withStatus"]["Finished"] == 10
    assert operation["status"]["progress"]["withStatus"]["Queued"] == 40
    assert (
        await put_signed(storage, session["assets"][10]["upload"], png_bytes(1, 1))
    ).status_code == 200
    assert _CountingItems.walks == 0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited (whoever adopted it may not reap it)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_workers_exit_when_the_api_process_is_killed() -> None:
    server = EmulatorServer(
        mode="subprocess", cli_args=["--storage-workers", "1"], startup_timeout=90.0
    )
    server.start()
    try:
        process = server._process
        assert process is not None
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        (worker,) = [int(pid) for pid in children]
        assert _alive(worker)
        process.kill()  # no chance to close its workers
        process.wait()
        deadline = time.monotonic() + 30
        while _alive(worker):
            assert time.monotonic() < deadline, "the orphaned worker kept running"
            time.sleep(0.1)
    finally:
        server.stop()
