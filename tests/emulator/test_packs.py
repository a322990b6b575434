"""The storage workers' pack-file blob store: reservations, the journal as index, and the
emulator's guarantees (visibility, overwrite, 412, big objects, reset, restart) through real
worker processes."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from nexus_async.emulator import EmulatorServer
from nexus_async.emulator.blobs import Extent, read_extents
from nexus_async.emulator.images import image_size
from nexus_async.emulator.storage.journal import ArrivalIndex, JournalWriter, parse_lines
from nexus_async.emulator.storage.packs import PACK_DIR, PackStore, pack_extent
from tests.emulator.conftest import crc_signed
from tests.media import png_bytes

STARTUP = 90.0
"""Seconds a worker-mode emulator may take to start (15-18 s seen on a loaded 2-core machine)."""

# -- the store alone --------------------------------------------------------------------


def _read(extent: Extent) -> bytes:
    return b"".join(read_extents([extent], 7))


def test_interleaved_bodies_land_in_their_own_ranges(tmp_path: Path) -> None:
    store = PackStore(str(tmp_path), grow=16)
    first, second = store.reserve(10), store.reserve(6)
    for a, b in ((b"01234", b"abc"), (b"56789", b"def")):  # chunks of two connections
        first.write(a)
        second.write(b)
    path = f"{tmp_path}/{PACK_DIR}/{first.name}"
    assert _read(Extent(path, first.offset, first.written)) == b"0123456789"
    assert _read(Extent(path, second.offset, second.written)) == b"abcdef"
    store.close()


def test_a_body_longer_than_declared_never_spills_into_the_next(tmp_path: Path) -> None:
    store = PackStore(str(tmp_path))
    long, after = store.reserve(4), store.reserve(4)
    after.write(b"keep")
    long.write(b"toolong")
    assert long.written == 4
    path = f"{tmp_path}/{PACK_DIR}/{after.name}"
    assert _read(Extent(path, after.offset, 4)) == b"keep"
    store.close()


def test_a_discarded_last_reservation_is_reused_an_earlier_one_is_not(tmp_path: Path) -> None:
    store = PackStore(str(tmp_path))
    first, second = store.reserve(8), store.reserve(8)
    first.discard()  # something came after it: its room stays a hole
    assert store.reserve(8).offset == 16
    second = store.reserve(8)
    second.discard()
    assert store.reserve(8).offset == second.offset
    store.close()


def test_a_full_pack_rolls_over_and_a_restart_starts_a_new_one(tmp_path: Path) -> None:
    store = PackStore(str(tmp_path), pack_bytes=10, grow=4)
    first = store.reserve(8)
    rolled = store.reserve(8)
    assert rolled.name != first.name
    assert rolled.offset == 0
    huge = store.reserve(50)  # bigger than a pack: a pack of its own
    assert huge.offset == 0
    assert huge.name != rolled.name
    in_flight = store.reserve(3)  # the huge pack is full: another one
    assert in_flight.name != huge.name
    store.restart()
    in_flight.write(b"end")  # an upload in flight during a reset still writes safely
    assert store.reserve(1).name != in_flight.name
    packs = sorted(os.listdir(f"{tmp_path}/{PACK_DIR}"))
    assert len(packs) == 5
    store.close()


def test_pack_extent_refuses_what_the_pack_does_not_hold(tmp_path: Path) -> None:
    store = PackStore(str(tmp_path), grow=1)
    blob = store.reserve(5)
    blob.write(b"12345")
    root = str(tmp_path)
    assert pack_extent(root, blob.name, 0, 5) == Extent(f"{root}/{PACK_DIR}/{blob.name}", 0, 5)
    assert pack_extent(root, blob.name, 1, 5) is None  # past the end of the file
    assert pack_extent(root, "../journal.pack", 0, 1) is None
    assert pack_extent(root, "journal", 0, 1) is None
    assert pack_extent(root, "missing.pack", 0, 1) is None
    assert pack_extent(root, blob.name, -1, 1) is None
    store.close()


def test_reading_a_truncated_pack_is_an_error_not_a_short_blob(tmp_path: Path) -> None:
    path = tmp_path / "p.pack"
    path.write_bytes(b"abc")
    with pytest.raises(OSError, match="ends before"):
        _read(Extent(str(path), 0, 10))
    assert image_size([Extent(str(path), 0, 10)]) == (0, 0)


def test_image_size_reads_extents_of_a_shared_file(tmp_path: Path) -> None:
    png = png_bytes(31, 17)
    path = tmp_path / "p.pack"
    path.write_bytes(b"x" * 100 + png + b"y" * 50)
    half = len(png) // 2
    assert image_size([Extent(str(path), 100, len(png))]) == (31, 17)
    pieces = [Extent(str(path), 100, 10), Extent(str(path), 110, half), Extent(str(path), 0, 0)]
    assert image_size(pieces) == (31, 17)


def test_journal_lines_that_do_not_parse_are_skipped(tmp_path: Path) -> None:
    assert parse_lines(b'["b",1]\n["a","s",0,5,"p.pack",0,3]') == [
        ["b", 1],
        ["a", "s", 0, 5, "p.pack", 0, 3],
    ]
    assert parse_lines(b'["b",1]\n["a","s",0\n["c"]\n{}\n7') == [["b", 1], ["c"]]


def test_the_arrival_index_follows_the_journal_across_a_reset(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    writer = JournalWriter(path)
    index = ArrivalIndex(path)
    assert not index.arrived("up_1", 0)
    writer.arrival("up_1", 0, 5, "p.pack", 0, 3)
    writer.count_storage_bytes(3)
    writer.flush()
    with path.open("ab") as raw:
        raw.write(b'["a","up_1",1,5,"p.pa')  # a line still being written
    assert index.arrived("up_1", 0)
    assert not index.arrived("up_1", 1)
    os.truncate(path, 0)  # emulator reset
    assert not index.arrived("up_1", 0)
    writer.arrival("up_2", 3, 5, "p.pack", 0, 3)
    writer.flush()
    assert index.arrived("up_2", 3)
    index.close()
    writer.close()


# -- through storage worker processes -------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("packs-data")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[EmulatorServer]:
    args = ["--storage-workers", "2", "--data-dir", str(data_dir)]
    with EmulatorServer(mode="subprocess", cli_args=args, startup_timeout=STARTUP) as running:
        yield running


def _session(server: EmulatorServer, files: dict[str, bytes]) -> dict[str, Any]:
    items = [
        {"filename": name, "size": len(data), "crc32c": crc_signed(data), "mime": "image/png"}
        for name, data in files.items()
    ]
    with httpx.Client(base_url=server.base_url, headers=_api_headers(server)) as api:
        answer = api.post(
            f"/projects/{server.project_id}/assetuploadsessions", json={"assets": items}
        )
    assert answer.status_code == 200, answer.text
    session: dict[str, Any] = answer.json()
    return session


def _api_headers(server: EmulatorServer) -> dict[str, str]:
    return {"Secret-Key": server.secret_key or ""}


def _put(upload: dict[str, Any], data: bytes, **extra: str) -> httpx.Response:
    headers = {**upload["headers"], **extra}
    return httpx.request(upload["method"], upload["url"], headers=headers, content=data)


def _asset(server: EmulatorServer, filename: str) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, headers=_api_headers(server)) as api:
        return api.get(f"/projects/{server.project_id}/assets/{filename}")


def _download(server: EmulatorServer, filename: str) -> bytes:
    asset = _asset(server, filename).json()
    return httpx.get(asset["url"]).content


def test_a_body_is_visible_only_once_complete(server: EmulatorServer) -> None:
    data = png_bytes(6, 4, extra=b"q" * 200_000)
    session = _session(server, {"cut.png": data, "other.png": data})
    upload = session["assets"][0]["upload"]
    url = httpx.URL(upload["url"])
    head = [f"PUT {url.raw_path.decode()} HTTP/1.1", f"Host: {url.host}:{url.port}"]
    head += [f"{k}: {v}" for k, v in upload["headers"].items()]
    head.append(f"Content-Length: {len(data)}")
    with socket.create_connection((url.host, url.port or 80)) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data[: len(data) // 2])
        time.sleep(0.2)
    assert _asset(server, "cut.png").status_code == 404
    assert _put(upload, data).status_code == 200
    asset = _asset(server, "cut.png").json()
    assert (asset["metadata"]["width"], asset["metadata"]["height"]) == (6, 4)
    assert _download(server, "cut.png") == data


def test_refused_bodies_store_nothing(server: EmulatorServer) -> None:
    data = png_bytes(3, 5)
    session = _session(server, {"refused.png": data, "second.png": data})
    upload = session["assets"][0]["upload"]
    assert _put(upload, data[:-1] + b"!").status_code == 400  # CRC mismatch
    assert _put(upload, data + b"more").status_code == 400  # size mismatch
    assert _asset(server, "refused.png").status_code == 404
    assert _put(upload, data).status_code == 200
    assert _download(server, "refused.png") == data


def test_overwrite_serves_the_latest_body(server: EmulatorServer) -> None:
    data = png_bytes(5, 5)
    session = _session(server, {"again.png": data, "open.png": data})
    upload = session["assets"][0]["upload"]
    for _ in range(3):
        assert _put(upload, data).status_code == 200
    assert _download(server, "again.png") == data
    with httpx.Client(base_url=server.base_url, headers=_api_headers(server)) as api:
        op = api.get(f"/projects/{server.project_id}/operations/{session['opId']}").json()
    assert op["status"]["progress"]["withStatus"]["Finished"] == 1  # one item, not three


def test_generation_match_zero_lets_exactly_one_concurrent_writer_win(
    server: EmulatorServer,
) -> None:
    data = png_bytes(9, 9)
    session = _session(server, {"race.png": data, "spare.png": data})
    upload = session["assets"][0]["upload"]
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: _put(upload, data, **{"x-goog-if-generation-match": "0"}).status_code,
                range(16),
            )
        )
    assert sorted(set(answers)) == [200, 412]
    assert answers.count(200) == 1
    assert _put(upload, data, **{"x-goog-if-generation-match": "0"}).status_code == 412
    assert _put(upload, data).status_code == 200  # unconditional overwrite still allowed
    assert _download(server, "race.png") == data


def test_a_big_item_streams_through_a_worker_and_back(server: EmulatorServer) -> None:
    data = png_bytes(12, 7, extra=os.urandom(3 * 1024 * 1024 + 17))
    session = _session(server, {"big.png": data})
    assert _put(session["assets"][0]["upload"], data).status_code == 200
    assert _download(server, "big.png") == data
    assert _asset(server, "big.png").json()["metadata"]["width"] == 12


def test_multipart_objects_next_to_packed_items(server: EmulatorServer) -> None:
    data = png_bytes(8, 3, extra=os.urandom(300_000))
    session = _session(server, {"parts.png": data, "packed.png": data})
    assert _put(session["assets"][1]["upload"], data).status_code == 200
    pid = server.project_id
    with httpx.Client(base_url=server.base_url, headers=_api_headers(server)) as api:
        mpu = api.post(
            f"/projects/{pid}/assetuploadsessions/{session['id']}/multipart",
            json={"filename": "parts.png", "mime": "image/png", "size": len(data)},
        ).json()
        base = f"/projects/{pid}/multipartassetuploads/{mpu['id']}"
        size = -(-len(data) // mpu["partCount"])
        for number in range(1, mpu["partCount"] + 1):
            signed = api.put(f"{base}/parts/{number}").json()
            piece = data[(number - 1) * size : number * size]
            stored = httpx.request(
                signed["method"], signed["url"], headers=signed["headers"], content=piece
            )
            assert stored.status_code == 200
            etag = {"responseHeaders": {"ETag": stored.headers["etag"]}}
            assert api.post(f"{base}/parts/{number}/complete", json=etag).json()["completed"]
        assert api.post(f"{base}/complete").json()["completed"] is True
    assert _download(server, "parts.png") == data
    assert _download(server, "packed.png") == data


def test_reset_starts_new_packs_and_uploads_keep_working(tmp_path: Path) -> None:
    data = png_bytes(4, 4)
    args = ["--storage-workers", "1", "--data-dir", str(tmp_path)]
    with EmulatorServer(mode="subprocess", cli_args=args, startup_timeout=STARTUP) as running:
        session = _session(running, {"before.png": data})
        assert _put(session["assets"][0]["upload"], data).status_code == 200
        (old,) = (tmp_path / PACK_DIR).iterdir()
        ids = running.control.reset()
        running.secret_key, running.project_id = ids["secret_key"], ids["project_id"]
        assert not old.exists()
        session = _session(running, {"after.png": data, "after2.png": data})
        upload = session["assets"][0]["upload"]
        assert _put(upload, data, **{"x-goog-if-generation-match": "0"}).status_code == 200
        assert _download(running, "after.png") == data
        assert _asset(running, "before.png").status_code == 404
        (new,) = (tmp_path / PACK_DIR).iterdir()
        assert new.name != old.name


def test_a_restart_on_the_same_data_dir_starts_clean(tmp_path: Path) -> None:
    """The emulator's state lives in memory and ``--data-dir`` is cleared when it starts (as
    before packs): a restart neither serves nor appends to an earlier run's packs."""
    data = png_bytes(2, 3)
    args = ["--storage-workers", "1", "--data-dir", str(tmp_path)]
    packs: list[set[str]] = []
    for run in range(2):
        with EmulatorServer(mode="subprocess", cli_args=args, startup_timeout=STARTUP) as running:
            session = _session(running, {f"run{run}.png": data})
            assert _put(session["assets"][0]["upload"], data).status_code == 200
            assert _download(running, f"run{run}.png") == data
            if run:
                assert _asset(running, "run0.png").status_code == 404
        packs.append({p.name for p in (tmp_path / PACK_DIR).iterdir()})
    assert len(packs[1]) == 1
    assert not packs[0] & packs[1]
