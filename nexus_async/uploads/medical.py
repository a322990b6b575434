"""Medical files to ordinary assets, as the documented ``add_path``/``add_bytes`` promise.

What becomes what (``{stem}`` is the file name without ``.dcm``/``.dicom``/``.nii``/``.nii.gz``):

* a **DICOM** file with one frame → ``{stem}.png``, an 8-bit image at the native size;
* a **DICOM** file with N frames → ``{stem}.mp4``, N frames at the native size (rounded up to
  even numbers, as H.264 4:2:0 needs);
* a **NIfTI** volume (``.nii``/``.nii.gz``, NIfTI-1 or -2) → ``{stem}-x.mp4``, ``{stem}-y.mp4``,
  ``{stem}-z.mp4`` (or the one axis asked). Frame *i* of axis x is the slice ``volume[i, :, :]``
  (rows along y, columns along z), of y ``volume[:, i, :]`` (rows x, columns z), of z
  ``volume[:, :, i]`` (rows x, columns y), as the official converters took them (no
  reorientation). Each frame is scaled to the slice's physical size: rows x ``pixdim`` of the
  row axis by columns x ``pixdim`` of the column axis, one pixel per unit (mm), rounded to whole
  pixels and up to even numbers, at most ``MEDICAL_MAX_FRAME_SIDE`` on a side (aspect kept). A
  missing, zero or non-finite ``pixdim`` counts as 1. Trailing axes of length 1 are dropped; a
  2-D volume or a 4-D series is refused.

Intensities become 8-bit grey by a linear window:

* NIfTI: from the volume's lowest finite value (black) to its highest (white), after the
  header's ``scl_slope``/``scl_inter``; one window for the whole volume, so a grey level means
  the same intensity on every frame and every axis. NaN and -inf are black, +inf white; a
  constant volume is black.
* DICOM grey (MONOCHROME1/2): the dataset's first ``WindowCenter``/``WindowWidth`` when it has
  them (DICOM's linear VOI function, on the ``RescaleSlope``/``RescaleIntercept`` values), else
  the lowest to the highest stored value of all frames; MONOCHROME1 is inverted (white = low).
  8-bit RGB (and YBR, which pydicom decodes to RGB) is kept as it is; RGB of other depths is
  windowed from its lowest to its highest value.

Everything here blocks (reads, decodes, encodes): :class:`~nexus_async.uploads.conversions.
MedicalConverter` runs it in a worker thread. Bad input raises
:class:`~nexus_async.UnsupportedFileError` naming the file; a video past the size limit
:class:`~nexus_async.FileTooLargeError`.

Example::

    converted = convert_medical_file(
        MedicalFormat.NIFTI, Path("ct.nii.gz"), Path("out"), "ct", axes=("z",),
        stop=lambda: None, max_video_size=VIDEO_MAX_SIZE,
    )
    converted[0].path.name, converted[0].frames  # "ct-z.mp4", 120
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import numpy.typing as npt
import pydicom
import pydicom.errors
from nibabel.filebasedimages import ImageFileError

from nexus_async._constants import MEDICAL_MAX_FRAME_SIDE
from nexus_async._exceptions import UnsupportedFileError
from nexus_async.uploads.medical_media import Frame, Mp4Writer, write_png
from nexus_async.uploads.mime import MedicalFormat

__all__ = [
    "AXES",
    "ConvertedFile",
    "convert_dicom",
    "convert_medical_file",
    "convert_nifti",
    "frame_size",
    "to_grey",
]

#: NIfTI axis name → array axis.
AXES = {"x": 0, "y": 1, "z": 2}
_PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# What loading a damaged or foreign file raises in nibabel, pydicom and numpy.
_READ_ERRORS = (ImageFileError, OSError, EOFError, ValueError, zlib.error, KeyError)

# What pydicom raises for pixel data it cannot decode (missing plugin, inconsistent tags).
_DECODE_ERRORS = (
    AttributeError,
    KeyError,
    NotImplementedError,
    RuntimeError,
    TypeError,
    ValueError,
)

StopCheck = Callable[[], None]


@dataclasses.dataclass(frozen=True)
class ConvertedFile:
    """One file a conversion wrote: an image (``frames`` None) or a video of ``frames``."""

    path: Path
    frames: int | None


def _unsupported(name: str, reason: str) -> UnsupportedFileError:
    return UnsupportedFileError(f"{name}: {reason}", path=name)


def _even(length: float) -> int:
    whole = max(1, round(length))
    return whole + whole % 2


def frame_size(rows: float, cols: float) -> tuple[int, int]:
    """(width, height) of video frames showing ``rows`` x ``cols`` units: rounded, even, and
    scaled down (aspect kept) so that no side exceeds ``MEDICAL_MAX_FRAME_SIDE``.

    Example::

        frame_size(rows=101, cols=64.4)  # (64, 102)
    """
    scale = min(1.0, MEDICAL_MAX_FRAME_SIDE / max(rows, cols))
    return _even(cols * scale), _even(rows * scale)


def to_grey(values: npt.NDArray[Any], low: float, high: float) -> Frame:
    """``values`` mapped linearly from ``low`` (0) to ``high`` (255) as uint8, clipped; NaN is
    0. With ``high <= low`` everything is 0.

    Example::

        to_grey(np.array([0.0, 5.0, 10.0]), 0, 10)  # array([0, 128, 255], dtype=uint8)
    """
    scaled = values.astype(np.float32)
    if high > low:
        scaled -= np.float32(low)
        scaled *= np.float32(255.0 / (high - low))
    else:
        scaled[...] = 0
    np.nan_to_num(scaled, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    np.clip(scaled, 0.0, 255.0, out=scaled)
    return np.rint(scaled).astype(np.uint8)


def _finite_range(values: npt.NDArray[Any]) -> tuple[float, float]:
    """(lowest, highest) finite value of ``values``; (0, 0) when there is none."""
    if np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_:
        return float(values.min()), float(values.max())
    finite = np.isfinite(values)
    if not finite.any():
        return 0.0, 0.0
    low = np.min(values, initial=np.inf, where=finite)
    high = np.max(values, initial=-np.inf, where=finite)
    return float(low), float(high)


def _write_video(
    path: Path,
    frame_at: Callable[[int], Frame],
    count: int,
    size: tuple[int, int],
    *,
    stop: StopCheck,
    max_video_size: int,
) -> ConvertedFile:
    width, height = size
    with Mp4Writer(path, width=width, height=height, max_size=max_video_size) as video:
        for index in range(count):
            stop()
            video.write(frame_at(index))
    return ConvertedFile(path, video.frames)


# --- NIfTI -----------------------------------------------------------------------------------


def _spacing(zooms: Sequence[float]) -> tuple[float, float, float]:
    values = [float(z) for z in zooms[:3]] + [1.0] * (3 - len(zooms[:3]))
    x, y, z = (value if math.isfinite(value) and value > 0 else 1.0 for value in values)
    return x, y, z


def _load_nifti(path: Path, name: str) -> tuple[npt.NDArray[Any], tuple[float, float, float]]:
    """The volume (3-D; memory-mapped when the file is not compressed) and its voxel spacing."""
    try:
        image = nibabel.load(path)
        if not isinstance(image, nibabel.Nifti1Image):  # Nifti2Image derives from it
            raise _unsupported(name, f"not a NIfTI image ({type(image).__name__})")
        shape = tuple(image.shape)
        while len(shape) > 3 and shape[-1] == 1:
            shape = shape[:-1]
        if len(shape) < 3:
            raise _unsupported(
                name, f"a {len(shape)}-D NIfTI image {shape} is not a volume; upload it as an image"
            )
        if len(shape) > 3:
            raise _unsupported(
                name,
                f"a {len(shape)}-D NIfTI image {shape} (a series of volumes) cannot be converted; "
                "upload it as it is with nifti_as_volume=True",
            )
        if 0 in shape:
            raise _unsupported(name, f"the NIfTI volume is empty {shape}")
        volume = np.asanyarray(image.dataobj).reshape(shape)
        return volume, _spacing(image.header.get_zooms())  # type: ignore[no-untyped-call]
    except _READ_ERRORS as exc:
        raise _unsupported(
            name, f"not a readable NIfTI file (corrupt or truncated?): {exc}"
        ) from exc


def convert_nifti(
    source: Path,
    out_dir: Path,
    stem: str,
    *,
    axes: Sequence[str],
    stop: StopCheck,
    max_video_size: int,
    name: str | None = None,
) -> list[ConvertedFile]:
    """Write ``{stem}-{axis}.mp4`` in ``out_dir`` for each of ``axes`` (see the module docstring).

    ``stop()`` is called before each frame (it raises to abandon the conversion); ``name`` is
    the file name used in errors (default: the source's).

    Example::

        convert_nifti(Path("ct.nii"), out, "ct", axes="xyz", stop=check, max_video_size=limit)
    """
    shown = name or source.name
    volume, spacing = _load_nifti(source, shown)
    try:
        low, high = _finite_range(volume)
    except _READ_ERRORS as exc:  # a memory-mapped file can fail while read
        raise _unsupported(shown, f"cannot read the NIfTI volume: {exc}") from exc

    def write_axis(axis: str) -> ConvertedFile:
        along = AXES[axis]
        rows, cols = (i for i in range(3) if i != along)
        return _write_video(
            out_dir / f"{stem}-{axis}.mp4",
            lambda index: to_grey(volume.take(index, axis=along), low, high),
            volume.shape[along],
            frame_size(volume.shape[rows] * spacing[rows], volume.shape[cols] * spacing[cols]),
            stop=stop,
            max_video_size=max_video_size,
        )

    return [write_axis(axis) for axis in axes]


# --- DICOM -----------------------------------------------------------------------------------


def _first_number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple, pydicom.multival.MultiValue)):
        value = value[0] if len(value) else None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _grey_window(dataset: pydicom.Dataset, pixels: npt.NDArray[Any]) -> tuple[float, float]:
    """(low, high) in stored pixel values: the dataset's VOI window, else the value range."""
    center = _first_number(dataset.get("WindowCenter"))
    width = _first_number(dataset.get("WindowWidth"))
    if center is None or width is None or width < 1:
        return _finite_range(pixels)
    slope = _first_number(dataset.get("RescaleSlope")) or 1.0
    intercept = _first_number(dataset.get("RescaleIntercept")) or 0.0
    low = center - 0.5 - (width - 1) / 2  # DICOM PS3.3 C.11.2.1.2.1, linear
    high = center - 0.5 + (width - 1) / 2
    low, high = sorted(((low - intercept) / slope, (high - intercept) / slope))
    return low, high


def _dicom_frames(dataset: pydicom.Dataset, name: str) -> tuple[Callable[[int], Frame], int]:
    """(frame getter, frame count) of the dataset's pixel data as 8-bit grey or RGB frames."""
    count = int(_first_number(dataset.get("NumberOfFrames")) or 1)
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        raise _unsupported(name, "PALETTE COLOR DICOM images are not supported")
    try:
        pixels = dataset.pixel_array
    except _DECODE_ERRORS as exc:
        syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
        how = f" ({syntax.name})" if syntax is not None else ""
        raise _unsupported(name, f"cannot decode its pixel data{how}: {exc}") from exc
    if count == 1:
        pixels = pixels[np.newaxis]
    count = len(pixels)
    if photometric.startswith("MONOCHROME"):
        low, high = _grey_window(dataset, pixels)
        if photometric == "MONOCHROME1":  # white is the low end
            return (lambda index: 255 - to_grey(pixels[index], low, high)), count
        return (lambda index: to_grey(pixels[index], low, high)), count
    if pixels.dtype == np.uint8:
        return (lambda index: pixels[index]), count
    low, high = _finite_range(pixels)
    return (lambda index: to_grey(pixels[index], low, high)), count


def convert_dicom(
    source: Path,
    out_dir: Path,
    stem: str,
    *,
    stop: StopCheck,
    max_video_size: int,
    name: str | None = None,
) -> list[ConvertedFile]:
    """Write ``{stem}.png`` (one frame) or ``{stem}.mp4`` (several) in ``out_dir``.

    Example::

        [png] = convert_dicom(Path("xray.dcm"), out, "xray", stop=check, max_video_size=limit)
    """
    shown = name or source.name
    try:
        dataset = pydicom.dcmread(source)
    except (pydicom.errors.InvalidDicomError, *_READ_ERRORS) as exc:
        raise _unsupported(shown, f"not a readable DICOM file: {exc}") from exc
    if not any(keyword in dataset for keyword in _PIXEL_DATA_KEYWORDS):
        raise _unsupported(shown, "the DICOM file has no pixel data (no image to upload)")
    frame_at, count = _dicom_frames(dataset, shown)
    if count == 1:
        path = out_dir / f"{stem}.png"
        write_png(path, frame_at(0))
        return [ConvertedFile(path, None)]
    rows, cols = frame_at(0).shape[:2]
    size = (_even(cols), _even(rows))
    path = out_dir / f"{stem}.mp4"
    return [_write_video(path, frame_at, count, size, stop=stop, max_video_size=max_video_size)]


def convert_medical_file(
    kind: MedicalFormat,
    source: Path,
    out_dir: Path,
    stem: str,
    *,
    axes: Sequence[str],
    stop: StopCheck,
    max_video_size: int,
    name: str | None = None,
) -> list[ConvertedFile]:
    """Convert one medical file into ``out_dir`` (``axes`` applies to NIfTI only).

    Example::

        convert_medical_file(MedicalFormat.DICOM, src, out, "ct", axes=(), stop=check,
                             max_video_size=limit)
    """
    if kind is MedicalFormat.NIFTI:
        return convert_nifti(
            source, out_dir, stem, axes=axes, stop=stop, max_video_size=max_video_size, name=name
        )
    return convert_dicom(source, out_dir, stem, stop=stop, max_video_size=max_video_size, name=name)
