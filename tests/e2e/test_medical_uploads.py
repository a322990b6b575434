"""DICOM and NIfTI files uploaded end to end to the emulator: converted assets, their names,
MIME types, count, dimensions and custom metadata, and the native NIfTI option."""

from __future__ import annotations

from pathlib import Path

from nexus_async import Project
from tests.medical import dicom_bytes, nifti_bytes


async def listed(project: Project) -> dict[str, tuple[str, int, int, dict[str, object]]]:
    return {
        asset.filename: (
            asset.metadata.mime_type,
            asset.metadata.width,
            asset.metadata.height,
            dict(asset.metadata.custom_metadata or {}),
        )
        async for asset in project.assets.iter()
    }


async def test_a_folder_of_medical_files_becomes_images_and_videos(
    tmp_path: Path, project: Project
) -> None:
    scans = tmp_path / "scans"
    (scans / "series").mkdir(parents=True)
    (scans / "xray.dcm").write_bytes(dicom_bytes(rows=6, cols=4))
    (scans / "series" / "cine.DCM").write_bytes(dicom_bytes(frames=4, rows=8, cols=8))
    (scans / "brain.nii.gz").write_bytes(nifti_bytes(gz=True))
    session = project.assets.create_upload_session()
    async with session:
        await session.add_path(scans, custom_metadata={"study": "s1"})
        await session.add_bytes(nifti_bytes(), "knee.nii", nifti_orientation="z")
    assets = await listed(project)
    assert {name: mime for name, (mime, *_) in assets.items()} == {
        "xray.png": "image/png",
        "cine.mp4": "video/mp4",
        "brain-x.mp4": "video/mp4",
        "brain-y.mp4": "video/mp4",
        "brain-z.mp4": "video/mp4",
        "knee-z.mp4": "video/mp4",
    }
    assert assets["xray.png"][1:3] == (4, 6)  # the emulator reads PNG dimensions
    assert {assets[name][3].get("study") for name in assets if name != "knee-z.mp4"} == {"s1"}
    assert session.progress.files_total == session.progress.files_done == 6
    assert session.progress.bytes_done == session.progress.bytes_total


async def test_nifti_as_volume_uploads_the_volume_itself(tmp_path: Path, project: Project) -> None:
    (tmp_path / "ct.nii").write_bytes(nifti_bytes())
    async with project.assets.create_upload_session() as session:
        await session.add_path(tmp_path / "ct.nii", nifti_as_volume=True)
    assert {name: mime for name, (mime, *_) in (await listed(project)).items()} == {
        "ct.nii": "application/x-nifti"
    }
