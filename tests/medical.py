"""Small synthetic medical files for tests (built here, never committed) and decoders of what
the conversions produce. Needs the ``[medical]`` extra; test modules that import this skip
themselves without it (``pytest.importorskip``)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import av
import nibabel
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

SHAPE = (10, 12, 6)
PIXDIM = (2.0, 0.5, 3.0)


def volume(shape: tuple[int, ...] = SHAPE) -> npt.NDArray[np.float32]:
    """A ramp volume: every voxel a distinct value, so windows and slices can be checked."""
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)


def nifti_bytes(
    data: npt.NDArray[np.float32] | None = None,
    pixdim: tuple[float, ...] = PIXDIM,
    *,
    gz: bool = False,
) -> bytes:
    """A NIfTI-1 file (``.nii`` bytes, gzipped with ``gz``) of ``data`` with voxel spacing
    ``pixdim``."""
    image = nibabel.Nifti1Image(volume() if data is None else data, np.eye(4))
    image.header.set_zooms(pixdim[: len(image.shape)])
    raw = bytes(image.to_bytes())
    return gzip.compress(raw, mtime=0) if gz else raw


def dicom_bytes(
    frames: int = 1,
    rows: int = 6,
    cols: int = 4,
    *,
    pixels: bool = True,
    photometric: str = "MONOCHROME2",
    window: tuple[float, float] | None = None,
) -> bytes:
    """A valid DICOM file (secondary capture, 12-bit grey) with ``frames`` ramp frames."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Modality = "OT"
    if pixels:
        dataset.Rows, dataset.Columns = rows, cols
        dataset.SamplesPerPixel = 1
        dataset.PhotometricInterpretation = photometric
        dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 12, 11
        dataset.PixelRepresentation = 0
        if frames > 1:
            dataset.NumberOfFrames = frames
        if window is not None:
            dataset.WindowCenter, dataset.WindowWidth = window
        ramp = np.linspace(0, 4095, frames * rows * cols).round().astype(np.uint16)
        dataset.PixelData = ramp.tobytes()
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def decode_video(path: Path | bytes) -> list[npt.NDArray[np.uint8]]:
    """Every frame of a video (or image) file, as grey arrays (rows, cols)."""
    source = io.BytesIO(path) if isinstance(path, bytes) else str(path)
    with av.open(source) as container:
        return [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]


def video_codec(path: Path) -> str:
    with av.open(str(path)) as container:
        return str(container.streams.video[0].codec_context.name)
