"""Medical conversions (uploads/medical.py, medical_media.py): synthetic NIfTI volumes with
non-unit pixdim and pydicom datasets in, PNG/MP4 out, decoded back and checked."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from nexus_async import FileTooLargeError, UnsupportedFileError
from nexus_async._constants import MEDICAL_MAX_FRAME_SIDE, VIDEO_MAX_SIZE
from nexus_async.uploads.conversions import medical_stem
from nexus_async.uploads.medical import ConvertedFile, convert_medical_file, frame_size, to_grey
from nexus_async.uploads.medical_media import png_bytes
from nexus_async.uploads.mime import MedicalFormat
from tests.medical import decode_video, dicom_bytes, nifti_bytes, video_codec, volume

NIFTI, DICOM = MedicalFormat.NIFTI, MedicalFormat.DICOM


def convert(
    tmp_path: Path,
    kind: MedicalFormat,
    data: bytes,
    name: str,
    *,
    axes: tuple[str, ...] = ("x", "y", "z"),
    max_video_size: int = VIDEO_MAX_SIZE,
) -> list[ConvertedFile]:
    source = tmp_path / name
    source.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return convert_medical_file(
        kind,
        source,
        out,
        medical_stem(name),
        axes=axes,
        stop=lambda: None,
        max_video_size=max_video_size,
    )


@pytest.mark.parametrize("name", ["ct.nii", "ct.nii.gz"])
def test_a_volume_becomes_one_video_per_axis_sized_by_pixdim(tmp_path: Path, name: str) -> None:
    # shape (10, 12, 6), pixdim (2.0, 0.5, 3.0): x slices are 12 x 6 voxels of 0.5 x 3 units
    # (6 x 18 pixels), y slices 10 x 6 of 2 x 3 (20 x 18), z slices 10 x 12 of 2 x 0.5 (20 x 6).
    converted = convert(tmp_path, NIFTI, nifti_bytes(gz=name.endswith(".gz")), name)
    assert [(c.path.name, c.frames) for c in converted] == [
        ("ct-x.mp4", 10),
        ("ct-y.mp4", 12),
        ("ct-z.mp4", 6),
    ]
    shapes = {c.path.name: {f.shape for f in decode_video(c.path)} for c in converted}
    assert shapes == {"ct-x.mp4": {(6, 18)}, "ct-y.mp4": {(20, 18)}, "ct-z.mp4": {(20, 6)}}
    assert [len(decode_video(c.path)) for c in converted] == [10, 12, 6]
    assert video_codec(converted[0].path) == "h264"


def test_one_window_for_the_whole_volume(tmp_path: Path) -> None:
    [z] = convert(tmp_path, NIFTI, nifti_bytes(), "v.nii", axes=("z",))
    frames = decode_video(z.path)
    # the ramp grows along z by 1 per slice and by 72 per x row: the first slice starts black,
    # the last one ends white, and every slice is brighter than the one before
    assert frames[0][0, 0] <= 6
    assert frames[-1][-1, -1] >= 249
    means = [float(frame.mean()) for frame in frames]
    assert means == sorted(means)


def test_one_axis_only(tmp_path: Path) -> None:
    converted = convert(tmp_path, NIFTI, nifti_bytes(gz=True), "brain.nii.gz", axes=("y",))
    assert [c.path.name for c in converted] == ["brain-y.mp4"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["brain-y.mp4"]


def test_odd_sizes_round_up_to_even_and_bad_pixdim_counts_as_one(tmp_path: Path) -> None:
    data = nifti_bytes(volume((5, 7, 3)), pixdim=(1.0, 1.0, 0.0))
    converted = convert(tmp_path, NIFTI, data, "odd.nii", axes=("x", "z"))
    assert [decode_video(c.path)[0].shape for c in converted] == [(8, 4), (6, 8)]


def test_trailing_axes_of_one_are_dropped(tmp_path: Path) -> None:
    data = nifti_bytes(volume((4, 4, 4, 1)), pixdim=(1.0, 1.0, 1.0, 1.0))
    [x] = convert(tmp_path, NIFTI, data, "t.nii", axes=("x",))
    assert x.frames == 4


def test_frame_size_is_capped_with_its_aspect() -> None:
    assert frame_size(rows=101, cols=64.4) == (64, 102)
    width, height = frame_size(rows=MEDICAL_MAX_FRAME_SIDE * 4, cols=MEDICAL_MAX_FRAME_SIDE)
    assert (width, height) == (MEDICAL_MAX_FRAME_SIDE // 4, MEDICAL_MAX_FRAME_SIDE)


def test_to_grey_window() -> None:
    values = np.array([-5.0, 0.0, 5.0, 10.0, 20.0, np.nan, np.inf, -np.inf])
    assert to_grey(values, 0, 10).tolist() == [0, 0, 128, 255, 255, 0, 255, 0]
    assert to_grey(np.full(3, 7.0), 7, 7).tolist() == [0, 0, 0]


def test_a_single_frame_dicom_becomes_a_png(tmp_path: Path) -> None:
    [png] = convert(tmp_path, DICOM, dicom_bytes(rows=6, cols=4), "xray.dcm")
    assert (png.path.name, png.frames) == ("xray.png", None)
    [frame] = decode_video(png.path)
    assert frame.shape == (6, 4)
    assert (frame[0, 0], frame[-1, -1]) == (0, 255)  # min..max window of the stored values
    assert png.path.read_bytes() == png_bytes(frame)  # grey PNG, exactly what was written


def test_a_multi_frame_dicom_becomes_an_mp4(tmp_path: Path) -> None:
    [mp4] = convert(tmp_path, DICOM, dicom_bytes(frames=5, rows=7, cols=9), "cine.DCM")
    assert (mp4.path.name, mp4.frames) == ("cine.mp4", 5)
    frames = decode_video(mp4.path)
    assert len(frames) == 5
    assert {frame.shape for frame in frames} == {(8, 10)}  # 7 x 9 rounded up to even


def test_dicom_window_and_monochrome1(tmp_path: Path) -> None:
    data = dicom_bytes(rows=8, cols=8, window=(2048, 1024), photometric="MONOCHROME1")
    [png] = convert(tmp_path, DICOM, data, "w.dcm")
    [frame] = decode_video(png.path)
    # below the window (< 1536) is black, inverted to white; above it (> 2560) white -> black
    assert frame[0, 0] == 255
    assert frame[-1, -1] == 0
    assert 0 < frame[4, 0] < 255


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("cut.nii", nifti_bytes()[:500], "corrupt or truncated"),
        (
            "cut.nii.gz",
            gzip.compress(nifti_bytes(np.random.default_rng(1).random((16, 16, 16), np.float32)))[
                :4000
            ],
            "corrupt or truncated",
        ),
        ("text.nii", b"this is not a volume at all" * 20, "not a readable NIfTI"),
        ("flat.nii", nifti_bytes(volume((8, 8))), "2-D NIfTI"),
        ("series.nii", nifti_bytes(volume((4, 4, 4, 2)), (1.0,) * 4), "nifti_as_volume=True"),
    ],
)
def test_bad_nifti_is_refused_by_name(tmp_path: Path, name: str, data: bytes, match: str) -> None:
    with pytest.raises(UnsupportedFileError, match=match) as info:
        convert(tmp_path, NIFTI, data, name)
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (dicom_bytes(pixels=False), "no pixel data"),
        (bytes(128) + b"DICM" + bytes(64), "no pixel data|not a readable DICOM"),
        (b"definitely not DICOM" * 10, "not a readable DICOM"),
    ],
)
def test_bad_dicom_is_refused_by_name(tmp_path: Path, data: bytes, match: str) -> None:
    with pytest.raises(UnsupportedFileError, match=match) as info:
        convert(tmp_path, DICOM, data, "report.dcm")
    assert "report.dcm" in str(info.value)


def test_a_video_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    noise = np.random.default_rng(2).random((40, 64, 64), np.float32)
    with pytest.raises(FileTooLargeError, match="limit of video assets") as info:
        convert(
            tmp_path, NIFTI, nifti_bytes(noise, (1.0, 1.0, 1.0)), "big.nii", max_video_size=2000
        )
    assert info.value.limit == 2000


def test_a_stop_check_abandons_the_conversion(tmp_path: Path) -> None:
    class Stop(Exception):
        pass

    calls = []

    def stop() -> None:
        calls.append(1)
        if len(calls) > 3:
            raise Stop

    source = tmp_path / "v.nii"
    source.write_bytes(nifti_bytes())
    with pytest.raises(Stop):
        convert_medical_file(
            NIFTI, source, tmp_path, "v", axes=("x",), stop=stop, max_video_size=VIDEO_MAX_SIZE
        )
    assert len(calls) == 4
