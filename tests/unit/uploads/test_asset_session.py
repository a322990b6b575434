"""The upload session's wire format, pinned with respx: session creation, transfers, cancel,
multipart, batching and the client-wide creation limit."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

import nexus_async
from nexus_async import AsyncClient, Project
from nexus_async.uploads.checksums import crc32c, crc32c_to_signed_int, x_goog_hash
from nexus_async.uploads.multipart import part_ranges
from nexus_async.uploads.rate_limit import SlidingWindowLimiter
from tests.media import jpeg_bytes, png_bytes
from tests.unit import payloads
from tests.unit.conftest import BASE_URL, SECRET

P = f"{BASE_URL}/projects/{payloads.PROJECT_ID}"
STORAGE = "https://storage.test"


def session_response(items: list[dict[str, object]], session_id: str = "up_1") -> dict[str, object]:
    return {
        "id": session_id,
        "opId": f"op_{session_id}",
        "assets": [
            {
                "metadata": {k: item[k] for k in ("filename", "mime", "size", "crc32c")},
                "upload": {
                    "method": "PUT",
                    "url": f"{STORAGE}/{session_id}/{i}?X-Goog-Signature=s3cr3t",
                    "headers": {"content-type": str(item["mime"]), "x-goog-hash": "crc32c=x"},
                },
            }
            for i, item in enumerate(items)
        ],
    }


def echo_session(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(200, json=session_response(body["assets"]))


def waiting_for(op_id: str, *, finished: int, missing: int) -> dict[str, object]:
    """An upload operation whose ``missing`` items never arrived (the server waits for them)."""
    operation = payloads.operation("Running", op_id)
    operation["status"]["progress"]["withStatus"] = {
        "Queued": missing,
        "Running": 0,
        "Finished": finished,
        "Cancelled": 0,
        "Errored": 0,
    }
    return operation


async def test_session_request_storage_transfers_and_foreground_wait(
    api: respx.MockRouter, project: Project, project_route: respx.Route, tmp_path: Path
) -> None:
    image = png_bytes(10, 10)
    (tmp_path / "a.png").write_bytes(image)
    frame = jpeg_bytes(4, 4)
    create = api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    storage = api.put(url__startswith=f"{STORAGE}/up_1/").respond(200)
    operation = api.get(f"{P}/operations/op_up_1").respond(
        json=payloads.operation("Finished", "op_up_1")
    )

    async with project.assets.create_upload_session(groups=["main", "g2"]) as session:
        await session.add_path(tmp_path / "a.png", custom_metadata={"site": "A"})
        await session.add_bytes(frame, "cam-1.jpg")

    assert json.loads(create.calls.last.request.content) == {
        "groups": ["main", "g2"],
        "assets": [
            {
                "filename": "a.png",
                "size": len(image),
                "crc32c": crc32c_to_signed_int(crc32c(image)),
                "mime": "image/png",
                "customMetadata": {"site": "A"},
            },
            {
                "filename": "cam-1.jpg",
                "size": len(frame),
                "crc32c": crc32c_to_signed_int(crc32c(frame)),
                "mime": "image/jpeg",
            },
        ],
    }
    sent = {call.request.url.path: call.request for call in storage.calls}
    assert sent["/up_1/0"].content == image
    assert sent["/up_1/1"].content == frame
    for request in sent.values():
        assert "secret-key" not in request.headers
        assert request.headers["content-length"] == str(len(request.content))
        assert request.headers["x-goog-hash"] == "crc32c=x"  # exactly the issued headers
    assert operation.called
    assert session.get_operation_ids() == ["op_up_1"]
    assert project_route.call_count == 1


async def test_video_items_carry_frames_and_encoder(
    api: respx.MockRouter, project: Project, project_route: respx.Route
) -> None:
    create = api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    api.put(url__startswith=STORAGE).respond(200)
    async with project.assets.create_upload_session(background=True) as session:
        await session.add_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100), "clip.mp4")
    item = json.loads(create.calls.last.request.content)["assets"][0]
    assert item["mime"] == "video/mp4"
    assert item["frames"] == 1
    assert item["encoder"] == {"profile": "h264Saver", "everyNthFrame": 1}


async def test_a_failed_file_cancels_the_session_and_lists_the_file(
    api: respx.MockRouter, project: Project, project_route: respx.Route, sleeps: list[float]
) -> None:
    api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    api.put(f"{STORAGE}/up_1/0").respond(200)
    api.put(f"{STORAGE}/up_1/1").respond(403, text="<Error><Code>AccessDenied</Code></Error>")
    cancel = api.post(f"{P}/assetuploadsessions/up_1:cancel").respond(
        json={"cancelled": True, "id": "up_1"}
    )
    check = api.get(f"{P}/operations/op_up_1").respond(
        json=waiting_for("op_up_1", finished=1, missing=1)
    )
    with pytest.raises(nexus_async.UploadError) as caught:
        async with project.assets.create_upload_session(background=True) as session:
            await session.add_bytes(png_bytes(2, 2), "ok.png")
            await session.add_bytes(png_bytes(3, 3), "denied.png")
    assert [f.filename for f in caught.value.failed] == ["denied.png"]
    assert "AccessDenied" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    assert cancel.call_count == 1
    assert check.called  # the server was asked before the file counted as failed
    assert session.get_operation_ids() == []


async def test_a_cancel_answered_409_is_fine(
    api: respx.MockRouter, project: Project, project_route: respx.Route, sleeps: list[float]
) -> None:
    api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    api.put(url__startswith=STORAGE).respond(500)
    api.get(f"{P}/operations/op_up_1").respond(json=waiting_for("op_up_1", finished=0, missing=1))
    cancel = api.post(f"{P}/assetuploadsessions/up_1:cancel").respond(
        409, json={"code": "ConflictError", "message": "done"}
    )
    with pytest.raises(nexus_async.UploadError):
        async with project.assets.create_upload_session() as session:
            await session.add_bytes(png_bytes(2, 2), "a.png")
    assert cancel.called


async def test_a_mismatched_echo_is_refused_and_cancelled(
    api: respx.MockRouter, project: Project, project_route: respx.Route
) -> None:
    def wrong_order(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=session_response(list(reversed(json.loads(request.content)["assets"])))
        )

    api.post(f"{P}/assetuploadsessions").mock(side_effect=wrong_order)
    cancel = api.post(f"{P}/assetuploadsessions/up_1:cancel").respond(json={"cancelled": True})
    with pytest.raises(nexus_async.APIResponseError, match="request order"):
        async with project.assets.create_upload_session() as session:
            await session.add_bytes(png_bytes(2, 2), "a.png")
            await session.add_bytes(png_bytes(3, 3), "b.png")
    assert cancel.called


async def test_files_are_batched_into_sessions(
    api: respx.MockRouter, project: Project, project_route: respx.Route
) -> None:
    counter = iter(range(100))

    def numbered(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(200, json=session_response(body["assets"], f"up_{next(counter)}"))

    create = api.post(f"{P}/assetuploadsessions").mock(side_effect=numbered)
    api.put(url__startswith=STORAGE).respond(200)
    async with project.assets.create_upload_session(background=True, batch_size=2) as session:
        for i in range(5):
            await session.add_bytes(png_bytes(2, 2 + i), f"{i}.png")
    sizes = sorted(len(json.loads(c.request.content)["assets"]) for c in create.calls)
    assert sizes == [1, 2, 2]
    assert sorted(session.get_operation_ids()) == ["op_up_0", "op_up_1", "op_up_2"]


async def test_multipart_wire(
    api: respx.MockRouter, project: Project, project_route: respx.Route, tmp_path: Path
) -> None:
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40  # 10 252 bytes
    (tmp_path / "big.mp4").write_bytes(data)
    create = api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    start = api.post(f"{P}/assetuploadsessions/up_1/multipart").respond(
        json={"id": "mpu_1", "partCount": 3}
    )
    reports = {}
    for n in (1, 2, 3):
        api.put(f"{P}/multipartassetuploads/mpu_1/parts/{n}").respond(
            json={
                "method": "PUT",
                "url": f"{STORAGE}/mpu_1/{n}?sig=s3cr3t",
                "expiry": 1,
                "responseHeaders": ["ETag"],
                "responseBody": False,
                "headers": {"content-type": "application/octet-stream"},
            }
        )
        reports[n] = api.post(f"{P}/multipartassetuploads/mpu_1/parts/{n}/complete").respond(
            json={"id": "mpu_1", "partNumber": n, "completed": True}
        )
    parts = api.put(url__startswith=f"{STORAGE}/mpu_1/").mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"ETag": f'"etag-{request.url.path[-1]}"'}
        )
    )
    complete = api.post(f"{P}/multipartassetuploads/mpu_1/complete").respond(
        json={"id": "mpu_1", "completed": True}
    )

    async with project.assets.create_upload_session(
        background=True, multipart_threshold=4096
    ) as session:
        await session.add_path(tmp_path / "big.mp4")

    item = json.loads(create.calls.last.request.content)["assets"][0]
    assert item["crc32c"] == 0  # the whole-file URL is unused; parts carry the bytes
    assert json.loads(start.calls.last.request.content) == {
        "filename": "big.mp4",
        "mime": "video/mp4",
        "size": len(data),
    }
    received = {call.request.url.path: call.request.content for call in parts.calls}
    ranges = part_ranges(len(data), 3)
    assert [received[f"/mpu_1/{n}"] for n in (1, 2, 3)] == [data[o : o + n] for o, n in ranges]
    for n, report in reports.items():  # each completion report echoes its part's ETag
        assert json.loads(report.calls.last.request.content) == {
            "responseHeaders": {"ETag": f'"etag-{n}"'}
        }
    assert complete.called


async def test_a_failed_part_aborts_the_multipart_upload(
    api: respx.MockRouter,
    project: Project,
    project_route: respx.Route,
    tmp_path: Path,
    sleeps: list[float],
) -> None:
    (tmp_path / "big.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(9000))
    api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    api.post(f"{P}/assetuploadsessions/up_1/multipart").respond(
        json={"id": "mpu_1", "partCount": 2}
    )
    api.put(url__regex=rf"{P}/multipartassetuploads/mpu_1/parts/\d+$").respond(
        json={
            "method": "PUT",
            "url": f"{STORAGE}/mpu_1/x",
            "expiry": 1,
            "responseHeaders": ["ETag"],
            "responseBody": False,
        }
    )
    api.put(f"{STORAGE}/mpu_1/x").respond(403)
    api.get(f"{P}/operations/op_up_1").respond(json=waiting_for("op_up_1", finished=0, missing=1))
    abort = api.delete(f"{P}/multipartassetuploads/mpu_1").respond(
        json={"id": "mpu_1", "aborted": True}
    )
    cancel = api.post(f"{P}/assetuploadsessions/up_1:cancel").respond(json={"cancelled": True})
    with pytest.raises(nexus_async.UploadError) as caught:
        async with project.assets.create_upload_session(multipart_threshold=4096) as session:
            await session.add_path(tmp_path / "big.mp4")
    assert caught.value.failed[0].filename == "big.mp4"
    assert abort.called
    assert cancel.called


def test_part_ranges_cover_the_file_and_the_last_part_takes_the_rest() -> None:
    assert part_ranges(10, 3) == [(0, 3), (3, 3), (6, 4)]
    assert part_ranges(5, 5) == [(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)]
    with pytest.raises(ValueError, match="cannot split"):
        part_ranges(3, 4)


async def test_sliding_window_waits_for_the_oldest_slot(virtual_time: list[float]) -> None:
    limiter = SlidingWindowLimiter(2, 300.0)
    await limiter.acquire()
    await limiter.acquire()
    assert virtual_time == []
    await limiter.acquire()
    assert virtual_time == [300.0]


async def test_session_creation_limit_is_shared_by_the_client(
    api: respx.MockRouter, virtual_time: list[float]
) -> None:
    api.get(P).respond(json=payloads.project())
    api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    api.put(url__startswith=STORAGE).respond(200)
    async with AsyncClient(SECRET, endpoint=BASE_URL, upload_sessions_per_window=1) as client:
        for name in ("a.png", "b.png"):  # two sessions, two project handles, one client budget
            async with client.get_project(payloads.PROJECT_ID).assets.create_upload_session(
                background=True
            ) as s:
                await s.add_bytes(png_bytes(2, 2), name)
    assert virtual_time == [300.0]  # the second session waited for the first one's window


async def test_x_goog_hash_helper_matches_the_spec_vector() -> None:
    assert x_goog_hash(crc32c(b"123456789")) == "crc32c=4waSgw=="
