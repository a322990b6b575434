"""Multi-GB upload through a real server: streamed, never held in memory (marked slow)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from nexus_async.emulator import EmulatorServer

GIB = 1024**3
CHUNK = 8 * 1024 * 1024


def _stream(size: int) -> Iterator[bytes]:
    block = os.urandom(CHUNK)
    sent = 0
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece


@pytest.mark.slow
def test_multipart_upload_above_one_gib(nexus_emulator: EmulatorServer) -> None:
    size = GIB + 5
    pid = nexus_emulator.project_id
    headers = {"Secret-Key": nexus_emulator.secret_key or ""}
    with httpx.Client(base_url=nexus_emulator.base_url, headers=headers, timeout=600) as api:
        item = {"filename": "big.mp4", "size": size, "crc32c": 0, "mime": "video/mp4"}
        session = api.post(f"/projects/{pid}/assetuploadsessions", json={"assets": [item]}).json()
        mpu = api.post(
            f"/projects/{pid}/assetuploadsessions/{session['id']}/multipart",
            json={"filename": "big.mp4", "mime": "video/mp4", "size": size},
        ).json()
        count = mpu["partCount"]
        part_size = size // count
        base = f"/projects/{pid}/multipartassetuploads/{mpu['id']}"
        with httpx.Client(timeout=600) as storage:
            for number in range(1, count + 1):
                length = part_size if number < count else size - part_size * (count - 1)
                signed = api.put(f"{base}/parts/{number}").json()
                stored = storage.request(
                    signed["method"],
                    signed["url"],
                    headers={**signed["headers"], "content-length": str(length)},
                    content=_stream(length),
                )
                assert stored.status_code == 200
                done = api.post(
                    f"{base}/parts/{number}/complete",
                    json={"responseHeaders": {"ETag": stored.headers["etag"]}},
                ).json()
                assert done["completed"] is True
        assert api.post(f"{base}/complete").json()["completed"] is True
        asset = api.get(f"/projects/{pid}/assets/big.mp4").json()
        assert asset["metadata"]["fileSize"] == size
    assert nexus_emulator.control.stats()["storage"]["bytes_received"] == size
