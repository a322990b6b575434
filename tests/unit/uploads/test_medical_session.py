"""Medical files in an upload session: the converter's threads and temporary folder, the wire
items of converted assets (respx), and the missing-extra error before any request."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import anyio
import pytest
import respx

import nexus_async
from nexus_async import Project
from nexus_async.uploads.checksums import crc32c, crc32c_to_signed_int
from nexus_async.uploads.conversions import (
    ConversionStopped,
    MedicalConverter,
    require_medical_extra,
)
from nexus_async.uploads.mime import MedicalFormat
from tests.medical import dicom_bytes, nifti_bytes, volume

from .test_asset_session import STORAGE, P, echo_session

BIG = nifti_bytes(volume((300, 64, 64)), (1.0, 1.0, 1.0))


async def test_outputs_live_in_a_temporary_folder_until_closed() -> None:
    converter = MedicalConverter()
    [png] = await converter.convert(dicom_bytes(), "xray.dcm", MedicalFormat.DICOM)
    root = converter.root
    assert root is not None
    assert png.path.is_file()
    assert png.path.is_relative_to(root)
    assert not list(root.rglob("xray.dcm"))  # the bytes' copy is gone once converted
    await converter.aclose()
    assert not root.exists()
    with pytest.raises(ConversionStopped):
        await converter.convert(dicom_bytes(), "again.dcm", MedicalFormat.DICOM)


async def test_a_failed_conversion_leaves_nothing() -> None:
    converter = MedicalConverter()
    try:
        with pytest.raises(nexus_async.UnsupportedFileError, match="no pixel data"):
            await converter.convert(dicom_bytes(pixels=False), "sr.dcm", MedicalFormat.DICOM)
        assert converter.root is not None
        assert list(converter.root.iterdir()) == []
    finally:
        await converter.aclose()


async def test_a_cancelled_conversion_stops_promptly_and_removes_its_files() -> None:
    converter = MedicalConverter()
    started = time.monotonic()
    with anyio.move_on_after(0.3):
        await converter.convert(BIG, "big.nii", MedicalFormat.NIFTI)
    assert time.monotonic() - started < 2.0
    root = converter.root
    assert root is not None
    assert list(root.iterdir()) == []  # the worker saw the stop and removed its folder
    await converter.aclose()
    assert not root.exists()


async def test_conversions_do_not_block_the_event_loop() -> None:
    gaps: list[float] = []

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await anyio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    converter = MedicalConverter()
    async with anyio.create_task_group() as group:
        group.start_soon(tick)
        await converter.convert(BIG, "big.nii", MedicalFormat.NIFTI, axes=("x",))
        group.cancel_scope.cancel()
    await converter.aclose()
    assert len(gaps) > 10
    assert max(gaps) < 0.5  # generous: the machine is shared; a blocked loop stalls seconds


async def test_without_the_extra_a_typed_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(nexus_async.MissingExtraError, match=r"nexus-async\[medical\]") as info:
        await require_medical_extra()
    assert info.value.extra == "medical"
    assert isinstance(info.value, ImportError)
    assert "av" in str(info.value)


async def test_converted_items_carry_mime_size_crc_frames_and_metadata(
    api: respx.MockRouter, project: Project, project_route: respx.Route, tmp_path: Path
) -> None:
    (tmp_path / "scan.nii.gz").write_bytes(nifti_bytes(gz=True))
    create = api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    storage = api.put(url__startswith=STORAGE).respond(200)
    session = project.assets.create_upload_session(background=True)
    async with session:
        await session.add_path(tmp_path / "scan.nii.gz", custom_metadata={"site": "A"})
        await session.add_bytes(dicom_bytes(frames=3), "cine.dcm", custom_metadata={"n": 1})
        await session.add_bytes(dicom_bytes(), "still", custom_metadata={"n": 2})  # by content
        root = session._converter.root
        assert root is not None
    assert not root.exists()
    items = json.loads(create.calls.last.request.content)["assets"]
    by_name = {item["filename"]: item for item in items}
    assert list(by_name) == ["scan-x.mp4", "scan-y.mp4", "scan-z.mp4", "cine.mp4", "still.png"]
    assert [by_name[f"scan-{axis}.mp4"]["frames"] for axis in "xyz"] == [10, 12, 6]
    assert by_name["cine.mp4"]["frames"] == 3
    assert by_name["cine.mp4"]["encoder"] == {"profile": "h264Saver", "everyNthFrame": 1}
    assert by_name["still.png"]["mime"] == "image/png"
    assert "frames" not in by_name["still.png"]
    assert {by_name[f"scan-{a}.mp4"]["customMetadata"]["site"] for a in "xyz"} == {"A"}
    assert by_name["still.png"]["customMetadata"] == {"n": 2}
    sent = {call.request.url.path.split("/")[-1]: call.request.content for call in storage.calls}
    assert len(sent) == 5
    for index, item in enumerate(items):
        body = sent[str(index)]
        assert item["size"] == len(body)
        assert item["crc32c"] == crc32c_to_signed_int(crc32c(body))
    assert session.progress.files_total == session.progress.files_done == 5


async def test_nifti_as_volume_keeps_the_native_upload(
    api: respx.MockRouter, project: Project, project_route: respx.Route
) -> None:
    create = api.post(f"{P}/assetuploadsessions").mock(side_effect=echo_session)
    api.put(url__startswith=STORAGE).respond(200)
    async with project.assets.create_upload_session(background=True) as session:
        await session.add_bytes(nifti_bytes(gz=True), "scan.nii.gz", nifti_as_volume=True)
        assert session._converter.root is None  # nothing converted
    [item] = json.loads(create.calls.last.request.content)["assets"]
    assert (item["filename"], item["mime"]) == ("scan.nii.gz", "application/x-nifti-gz")


async def test_without_the_extra_nothing_is_sent(
    api: respx.MockRouter,
    project: Project,
    project_route: respx.Route,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (tmp_path / "ct.dcm").write_bytes(dicom_bytes())
    create = api.post(f"{P}/assetuploadsessions").respond(500)
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(nexus_async.MissingExtraError, match="pydicom"):
        async with project.assets.create_upload_session() as session:
            await session.add_path(tmp_path)
    assert not create.called
    assert project_route.call_count == 1  # the session's entry GET only


async def test_an_error_in_the_block_removes_the_converted_files(
    project: Project, project_route: respx.Route
) -> None:
    session = project.assets.create_upload_session()
    with pytest.raises(RuntimeError, match="boom"):
        async with session:
            await session.add_bytes(dicom_bytes(), "xray.dcm")
            root = session._converter.root
            raise RuntimeError("boom")
    assert root is not None
    assert not root.exists()


async def test_names_made_by_conversions_are_checked(
    project: Project, project_route: respx.Route
) -> None:
    with pytest.raises(RuntimeError, match="leave without sending"):
        async with project.assets.create_upload_session() as session:
            await session.add_bytes(nifti_bytes(), "scan.nii", nifti_orientation="z")
            with pytest.raises(nexus_async.DuplicateFilenameError, match=r"scan-z\.mp4"):
                await session.add_bytes(nifti_bytes(gz=True), "scan.nii.gz")
            with pytest.raises(nexus_async.InvalidInputError, match="one or the other"):
                await session.add_bytes(
                    nifti_bytes(), "v.nii", nifti_orientation="x", nifti_as_volume=True
                )
            assert [file.filename for file in session._pending] == ["scan-z.mp4"]
            raise RuntimeError("leave without sending")
