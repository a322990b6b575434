"""The service uploader's wire format, pinned with respx: concurrent calls become one session
creation with every file, one PUT per file to its signed URL, then the ingestion poll."""

from __future__ import annotations

import asyncio
import json

import pytest
import respx

from nexus_async import InvalidInputError, Project
from nexus_async.uploads.checksums import crc32c, crc32c_to_signed_int
from nexus_async.uploads.mime import DicomFileError
from tests.media import png_bytes
from tests.unit import payloads
from tests.unit.uploads.test_asset_session import STORAGE, P, echo_session


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(assert_all_called=False) as router:
        router.get(P).respond(json=payloads.project())
        yield router


async def test_concurrent_calls_share_one_session_on_the_wire(
    api: respx.MockRouter, project: Project
) -> None:
    create = api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    storage = api.put(url__startswith=f"{STORAGE}/up_1/").respond(200)
    poll = api.get(f"{P}/operations/op_up_1").respond(
        json=payloads.operation("Finished", "op_up_1")
    )
    images = {"a.png": png_bytes(3, 3), "b.png": png_bytes(4, 4)}
    async with project.assets.create_uploader(groups=["api"]) as uploader:
        results = await asyncio.gather(
            *(
                uploader.upload_bytes(data, name, custom_metadata={"n": i})
                for i, (name, data) in enumerate(images.items())
            )
        )
    assert json.loads(create.calls.last.request.content) == {
        "groups": ["api"],
        "assets": [
            {
                "filename": name,
                "size": len(data),
                "crc32c": crc32c_to_signed_int(crc32c(data)),
                "mime": "image/png",
                "customMetadata": {"n": i},
            }
            for i, (name, data) in enumerate(images.items())
        ],
    }
    assert create.call_count == 1
    sent = {call.request.url.path: call.request.content for call in storage.calls}
    assert sent == {"/up_1/0": images["a.png"], "/up_1/1": images["b.png"]}
    assert all("secret-key" not in call.request.headers for call in storage.calls)
    assert poll.called
    assert [(r.filename, r.session_id, r.operation_id) for r in results] == [
        ("a.png", "up_1", "op_up_1"),
        ("b.png", "up_1", "op_up_1"),
    ]


async def test_a_failed_file_cancels_the_session_after_the_others_arrived(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    api.put(f"{STORAGE}/up_1/0", params={"X-Goog-Signature": "s3cr3t"}).respond(200)
    api.put(f"{STORAGE}/up_1/1", params={"X-Goog-Signature": "s3cr3t"}).respond(403)
    cancel = api.post(f"{P}/assetuploadsessions/up_1:cancel").respond(
        json={"cancelled": True, "id": "up_1"}
    )
    settled = payloads.operation("Cancelled", "op_up_1")
    settled["status"]["progress"]["withStatus"] = {
        "Queued": 0,
        "Running": 0,
        "Finished": 1,
        "Cancelled": 1,
        "Errored": 0,
    }
    api.get(f"{P}/operations/op_up_1").respond(json=settled)
    async with project.assets.create_uploader() as uploader:
        ok, failed = await asyncio.gather(
            uploader.upload_bytes(png_bytes(3, 3), "ok.png"),
            uploader.upload_bytes(png_bytes(3, 3), "refused.png"),
            return_exceptions=True,
        )
    assert not isinstance(ok, BaseException)
    assert ok.filename == "ok.png"
    assert isinstance(failed, Exception)
    assert "refused.png" in str(failed)
    assert cancel.call_count == 1


async def test_options_are_checked_when_the_uploader_is_made(project: Project) -> None:
    for bad in ({"max_files": 0}, {"max_files": 5001}, {"max_delay": -1}, {"max_pending": True}):
        with pytest.raises(InvalidInputError):
            project.assets.create_uploader(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        project.assets.create_uploader(groups="main")
    with pytest.raises(InvalidInputError):
        project.assets.create_uploader(on_rate_limit="later")  # type: ignore[arg-type]


async def test_calls_outside_the_block_are_refused(project: Project) -> None:
    uploader = project.assets.create_uploader()
    with pytest.raises(InvalidInputError, match="inside `async with"):
        await uploader.upload_bytes(png_bytes(2, 2), "a.png")


async def test_a_refused_session_creation_raises_as_it_is_for_every_file_of_the_batch(
    api: respx.MockRouter, project: Project
) -> None:
    refusal = respx.MockResponse(429, json={"message": "Too Many"}, headers={"Retry-After": "9"})
    create = api.post(f"{P}/assetuploadsessions").mock(return_value=refusal)
    async with project.assets.create_uploader(on_rate_limit="raise") as uploader:
        outcomes = await asyncio.gather(
            uploader.upload_bytes(png_bytes(3, 3), "a.png"),
            uploader.upload_bytes(png_bytes(3, 3), "b.png"),
            return_exceptions=True,
        )
    assert create.call_count == 1
    assert [type(o).__name__ for o in outcomes] == ["RateLimitError", "RateLimitError"]
    assert all(getattr(o, "retry_after", None) == 9.0 for o in outcomes)


async def test_callers_of_a_failed_batch_do_not_share_one_exception_object(
    api: respx.MockRouter, project: Project
) -> None:
    refusal = respx.MockResponse(429, json={"message": "Too Many"}, headers={"Retry-After": "9"})
    api.post(f"{P}/assetuploadsessions").mock(return_value=refusal)
    async with project.assets.create_uploader(on_rate_limit="raise") as uploader:
        first, second = await asyncio.gather(
            uploader.upload_bytes(png_bytes(3, 3), "a.png"),
            uploader.upload_bytes(png_bytes(3, 3), "b.png"),
            return_exceptions=True,
        )
    assert first is not second
    assert type(first) is type(second)
    assert isinstance(first, Exception)
    assert str(first) == str(second)
    assert first.__cause__ is second.__cause__  # both chained to the batch's own error


async def test_a_dicom_file_is_refused_with_what_to_do_instead(
    api: respx.MockRouter, project: Project
) -> None:
    create = api.post(f"{P}/assetuploadsessions").respond(500)
    async with project.assets.create_uploader() as uploader:
        with pytest.raises(DicomFileError, match="upload session's add_path/add_bytes converts"):
            await uploader.upload_bytes(bytes(128) + b"DICM" + bytes(64), "ct.dcm")
    assert not create.called
