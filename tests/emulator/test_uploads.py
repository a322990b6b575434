"""HTTP tests: upload sessions, signed storage checks, multipart, cancel, lifecycle timing."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from nexus_async.emulator import Emulator, ManualClock, TimingConfig

from .conftest import crc_signed, create_session, png_bytes, put_signed, upload_assets


async def test_session_echoes_items_in_order(client: httpx.AsyncClient, pid: str) -> None:
    files = {"b.png": png_bytes(2, 2), "a.png": png_bytes(1, 1)}
    session = (await create_session(client, pid, files, groups=["main", "g2"])).json()
    assert session["id"].startswith("up_")
    assert session["opId"].startswith("op_")
    assert [a["metadata"]["filename"] for a in session["assets"]] == ["b.png", "a.png"]
    item = session["assets"][0]
    assert item["metadata"]["crc32c"] == crc_signed(files["b.png"])
    upload = item["upload"]
    assert upload["method"] == "PUT"
    assert urlsplit(upload["url"]).path.startswith("/_storage/")
    assert upload["headers"]["content-type"] == "image/png"
    assert upload["headers"]["x-goog-hash"].startswith("crc32c=")
    assert isinstance(upload["expiryDate"], int)
    operation = (await client.get(f"/projects/{pid}/operations/{session['opId']}")).json()
    assert operation["status"]["overview"] == "Queued"
    assert operation["status"]["progress"]["withStatus"]["Queued"] == 2


async def test_session_validation(client: httpx.AsyncClient, pid: str) -> None:
    url = f"/projects/{pid}/assetuploadsessions"
    item = {"filename": "a.png", "size": 10, "crc32c": 1, "mime": "image/png"}
    cases = [
        {"assets": []},
        {"assets": [item, item]},
        {"assets": [{**item, "mime": "text/plain"}]},
        {"assets": [{**item, "size": 0}]},
        {"assets": [{**item, "size": 300 * 1024 * 1024}]},
        {"assets": [{**item, "size": "10"}]},
        {"assets": [{**item, "crc32c": 2**31}]},
        {"assets": [{**item, "filename": "../x.png"}]},
        {"assets": [{**item, "customMetadata": {"a": [1]}}]},
        {"assets": [item], "groups": "main"},
    ]
    for body in cases:
        response = await client.post(url, json=body)
        assert response.status_code == 400, body
        assert set(response.json()) == {"code", "message"}


async def test_too_many_items_is_400(emulator: Emulator, client: httpx.AsyncClient) -> None:
    emulator.config.max_items_per_session = 3
    files = {f"{i}.png": b"x" for i in range(4)}
    response = await create_session(client, emulator.project_id or "", files)
    assert response.status_code == 400


async def test_storage_rejects_tampering_method_headers_and_expiry(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, clock: ManualClock
) -> None:
    data = png_bytes(3, 3)
    session = (await create_session(client, pid, {"a.png": data})).json()
    upload = session["assets"][0]["upload"]
    tampered = dict(upload, url=upload["url"].replace("/0?", "/1?"))
    response = await put_signed(storage, tampered, data)
    assert response.status_code == 403
    assert b"SignatureDoesNotMatch" in response.content
    assert (await put_signed(storage, dict(upload, method="POST"), data)).status_code == 403
    wrong_type = dict(upload, headers={**upload["headers"], "content-type": "image/jpeg"})
    response = await put_signed(storage, wrong_type, data)
    assert response.status_code == 403
    assert b"SignatureDoesNotMatch" in response.content
    missing = {k: v for k, v in upload["headers"].items() if k != "x-goog-meta-datature-upload"}
    assert (await put_signed(storage, dict(upload, headers=missing), data)).status_code == 403
    clock.advance(25 * 3600 * 1000)
    expired = await put_signed(storage, upload, data)
    assert expired.status_code == 403
    assert b"ExpiredToken" in expired.content


async def test_storage_checksum_and_size_mismatch(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, emulator: Emulator
) -> None:
    data = png_bytes(3, 3)
    session = (await create_session(client, pid, {"a.png": data})).json()
    upload = session["assets"][0]["upload"]
    corrupt = data[:-1] + bytes([data[-1] ^ 1])
    response = await put_signed(storage, upload, corrupt)
    assert response.status_code == 400
    assert b"BadDigest" in response.content
    assert (await put_signed(storage, upload, data + b"x")).status_code == 400
    stats = emulator.stats()["storage"]
    assert stats["checksum_failures"] == 2
    assert (await client.get(f"/projects/{pid}/assets")).json()["data"] == []
    assert (await put_signed(storage, upload, data)).status_code == 200
    assert len((await client.get(f"/projects/{pid}/assets")).json()["data"]) == 1
    assert "secret-key" not in emulator.stats()["storage"]["header_names"]


async def test_generation_match_zero_rejects_second_write(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    data = png_bytes(3, 3)
    session = (await create_session(client, pid, {"a.png": data, "b.png": data})).json()
    upload = session["assets"][0]["upload"]
    headers = {**upload["headers"], "x-goog-if-generation-match": "0"}
    first = await storage.put(upload["url"], headers=headers, content=data)
    assert first.status_code == 200
    second = await storage.put(upload["url"], headers=headers, content=data)
    assert second.status_code == 412


async def test_cancel_session(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, emulator: Emulator
) -> None:
    files = {"a.png": png_bytes(1, 1), "b.png": png_bytes(2, 2)}
    session = (await create_session(client, pid, files)).json()
    assert emulator.stats()["open_upload_sessions"] == 1
    await put_signed(storage, session["assets"][0]["upload"], files["a.png"])
    cancel_url = f"/projects/{pid}/assetuploadsessions/{session['id']}:cancel"
    cancelled = await client.post(cancel_url)
    assert cancelled.json() == {"cancelled": True, "id": session["id"]}
    operation = (await client.get(f"/projects/{pid}/operations/{session['opId']}")).json()
    assert operation["status"]["overview"] == "Cancelled"
    counts = operation["status"]["progress"]["withStatus"]
    assert counts["Finished"] == 1
    assert counts["Cancelled"] == 1
    late = await put_signed(storage, session["assets"][1]["upload"], files["b.png"])
    assert late.status_code == 403
    again = await client.post(cancel_url)
    assert again.status_code == 409
    assert again.json()["code"] == "ConflictError"
    assert emulator.stats()["open_upload_sessions"] == 0
    names = [a["filename"] for a in (await client.get(f"/projects/{pid}/assets")).json()["data"]]
    assert names == ["a.png"]


async def test_reupload_same_filename_keeps_id(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    await upload_assets(client, storage, pid, {"a.png": png_bytes(1, 1)})
    first = (await client.get(f"/projects/{pid}/assets/a.png")).json()
    await upload_assets(client, storage, pid, {"a.png": png_bytes(5, 6)})
    second = (await client.get(f"/projects/{pid}/assets/a.png")).json()
    assert first["id"] == second["id"]
    assert (second["metadata"]["width"], second["metadata"]["height"]) == (5, 6)


async def test_custom_metadata_from_session_items(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    await upload_assets(
        client, storage, pid, {"a.png": png_bytes(1, 1)}, extra={"customMetadata": {"k": "v"}}
    )
    asset = (await client.get(f"/projects/{pid}/assets/a.png")).json()
    assert asset["metadata"]["customMetadata"] == {"k": "v"}


async def test_rate_limit_429_with_retry_after(
    client: httpx.AsyncClient, pid: str, clock: ManualClock
) -> None:
    for _ in range(15):
        assert (await create_session(client, pid, {"a.png": b"1"})).status_code == 200
        clock.advance(1000)
    limited = await create_session(client, pid, {"a.png": b"1"})
    assert limited.status_code == 429
    assert limited.json() == {"code": "TooManyRequestsError", "message": "Too Many Requests"}
    assert limited.headers["Retry-After"] == "285"
    clock.advance(285_000)
    assert (await create_session(client, pid, {"a.png": b"1"})).status_code == 200


async def test_rate_limit_can_be_disabled(emulator: Emulator, client: httpx.AsyncClient) -> None:
    emulator.config.rate_limit.enabled = False
    for _ in range(20):
        response = await create_session(client, emulator.project_id or "", {"a.png": b"1"})
        assert response.status_code == 200


async def test_multipart_upload(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, emulator: Emulator
) -> None:
    emulator.config.multipart_part_size = 10
    data = png_bytes(7, 9, extra=b"z" * 40)
    session = (await create_session(client, pid, {"big.png": data})).json()
    created = await client.post(
        f"/projects/{pid}/assetuploadsessions/{session['id']}/multipart",
        json={"filename": "big.png", "mime": "image/png", "size": len(data)},
    )
    mpu = created.json()
    part_count = mpu["partCount"]
    assert part_count == -(-len(data) // 10)
    part_size = len(data) // part_count
    base = f"/projects/{pid}/multipartassetuploads/{mpu['id']}"
    early = await client.post(f"{base}/complete")
    assert early.status_code == 400
    for number in reversed(range(1, part_count + 1)):
        start = (number - 1) * part_size
        end = len(data) if number == part_count else number * part_size
        signed = (await client.put(f"{base}/parts/{number}")).json()
        assert signed["responseBody"] is False
        assert signed["responseHeaders"] == ["ETag"]
        assert isinstance(signed["expiry"], int)
        stored = await storage.request(
            signed["method"], signed["url"], headers=signed["headers"], content=data[start:end]
        )
        assert stored.status_code == 200
        wrong = await client.post(
            f"{base}/parts/{number}/complete", json={"responseHeaders": {"ETag": '"nope"'}}
        )
        assert wrong.json()["completed"] is False
        done = await client.post(
            f"{base}/parts/{number}/complete",
            json={"responseHeaders": {"ETag": stored.headers["etag"]}},
        )
        assert done.json() == {"id": mpu["id"], "partNumber": number, "completed": True}
    assert (await client.put(f"{base}/parts/{part_count + 1}")).status_code == 400
    complete = await client.post(f"{base}/complete")
    assert complete.json() == {"id": mpu["id"], "completed": True}
    asset = (await client.get(f"/projects/{pid}/assets/big.png")).json()
    assert (asset["metadata"]["width"], asset["metadata"]["height"]) == (7, 9)
    assert (await storage.get(asset["url"])).content == data
    operation = (await client.get(f"/projects/{pid}/operations/{session['opId']}")).json()
    assert operation["status"]["overview"] == "Finished"
    assert (await client.delete(base)).status_code == 409


async def test_multipart_abort(client: httpx.AsyncClient, pid: str) -> None:
    session = (await create_session(client, pid, {"v.mp4": b"x" * 100}, mime="video/mp4")).json()
    mpu = (
        await client.post(
            f"/projects/{pid}/assetuploadsessions/{session['id']}/multipart",
            json={"filename": "v.mp4", "mime": "video/mp4", "size": 100},
        )
    ).json()
    base = f"/projects/{pid}/multipartassetuploads/{mpu['id']}"
    assert (await client.delete(base)).json() == {"id": mpu["id"], "aborted": True}
    assert (await client.put(f"{base}/parts/1")).status_code == 409
    assert (await client.delete(f"/projects/{pid}/multipartassetuploads/mpu_x")).status_code == 404


async def test_realistic_timing_with_injected_clock(
    emulator: Emulator, client: httpx.AsyncClient, storage: httpx.AsyncClient, clock: ManualClock
) -> None:
    emulator.config.timing = TimingConfig(queue_ms=500, processing_ms=2000)
    pid = emulator.project_id or ""
    files = {"a.png": png_bytes(1, 1), "b.png": png_bytes(1, 1)}
    session = await upload_assets(client, storage, pid, files)
    op_url = f"/projects/{pid}/operations/{session['opId']}"

    async def overview() -> tuple[str, dict[str, int]]:
        status = (await client.get(op_url)).json()["status"]
        return status["overview"], status["progress"]["withStatus"]

    assert (await overview())[0] == "Queued"
    assert (await client.get(f"/projects/{pid}/assets")).json()["data"] == []
    clock.advance(500)
    state, counts = await overview()
    assert state == "Running"
    assert counts["Running"] == 2
    clock.advance(1999)
    assert (await overview())[0] == "Running"
    clock.advance(1)
    state, counts = await overview()
    assert state == "Finished"
    assert counts["Finished"] == 2
    assert len((await client.get(f"/projects/{pid}/assets")).json()["data"]) == 2


async def test_session_expiry_errors_missing_items(
    emulator: Emulator, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    pid = emulator.project_id or ""
    session = (await create_session(client, pid, {"a.png": b"1"})).json()
    clock.advance(emulator.config.upload_session_ttl_ms)
    operation = (await client.get(f"/projects/{pid}/operations/{session['opId']}")).json()
    assert operation["status"]["overview"] == "Errored"
    assert (await client.get(f"/projects/{pid}/operations/op_unknown")).status_code == 404
