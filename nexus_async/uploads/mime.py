"""Asset kinds, MIME types and the file-type rules of uploads (nexus-api.md §14.1, §14.3).

Resolution of an asset's MIME type (:func:`detect_asset_mime`):

1. **Extension first**, lower-cased, ``.nii.gz`` being one extension, using the server's own MIME
   strings (the table of §14.1). ``.zip`` is ``application/x-rgbd-zip`` in RGBD projects and
   ``application/x-dicom-3d-zip`` elsewhere.
2. **Content** (the first bytes of the file, when the caller has them): ``filetype`` plus our own
   NIfTI, gzipped-NIfTI, DICOM, ISO-BMFF brand, RealMedia and plain-text sniffers.

   * unknown extension: the sniffed type is used when it is a supported asset type;
   * known extension, content of the same format (or container family, e.g. ``.mov`` holding an
     ``ftypisom`` box) or of no recognisable format: the extension's MIME type is used;
   * known extension, content of another format of the **same kind** (a JPEG named ``.png``,
     common with camera exports): accepted with the extension's MIME type, as the official SDK
     does; :attr:`AssetType.content_mime` tells the truth;
   * known extension, content clearly of **another kind or unsupported** (text, PDF, an MP4
     named ``.png``, a ZIP named ``.jpg``): refused as a disguised file.

**DICOM** (``.dcm``): the wire has no MIME type for a single DICOM file (only
``application/x-dicom-3d-zip``, a zipped series). Folder scans pick ``.dcm`` files up, and
:func:`medical_format` tells the upload session which files to convert locally (a DICOM file to
a PNG or MP4 asset, a NIfTI volume to one MP4 per axis, see ``uploads/medical.py``). Where no
conversion happens (:func:`detect_asset_mime`, the service uploader), a ``.dcm`` path or DICOM
content under any name raises :class:`DicomFileError` telling the user what to do instead.

Example::

    detect_asset_mime("scan.NII.GZ", None).mime      # "application/x-nifti-gz"
    detect_asset_mime("photo", png_head).mime        # "image/png" (sniffed)
"""

from __future__ import annotations

import codecs
import dataclasses
import enum
import os
import zlib
from collections.abc import Mapping

import filetype

from nexus_async._constants import (
    IMAGE_MAX_SIZE,
    MEDICAL_3D_MAX_SIZE,
    RGBD_MAX_SIZE,
    VIDEO_MAX_SIZE,
)
from nexus_async._exceptions import UnsupportedFileError

__all__ = [
    "ANNOTATION_SCAN_EXTENSIONS",
    "ASSET_SCAN_EXTENSIONS",
    "DICOM_EXTENSIONS",
    "DICOM_MIME",
    "KIND_MAX_SIZE",
    "MIME_BY_EXTENSION",
    "RGBD_SCAN_EXTENSIONS",
    "SUPPORTED_MIMES",
    "AssetKind",
    "AssetType",
    "DicomFileError",
    "MedicalFormat",
    "asset_mime_for_extension",
    "detect_asset_mime",
    "file_extension",
    "is_annotation_scan_file",
    "medical_format",
    "sniff_mime",
]


class AssetKind(str, enum.Enum):
    """The kinds of asset Nexus accepts; each has its own MIME list and size limit."""

    IMAGE = "image"
    VIDEO = "video"
    MEDICAL_3D = "medical_3d"
    RGBD = "rgbd"


KIND_MAX_SIZE: Mapping[AssetKind, int] = {
    AssetKind.IMAGE: IMAGE_MAX_SIZE,
    AssetKind.VIDEO: VIDEO_MAX_SIZE,
    AssetKind.MEDICAL_3D: MEDICAL_3D_MAX_SIZE,
    AssetKind.RGBD: RGBD_MAX_SIZE,
}

_IMAGE_MIMES: Mapping[str, str] = {
    ".avif": "image/avif",
    ".bmp": "image/bmp",
    ".gif": "image/gif",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".jfif": "image/jpeg",
    ".jp2": "image/jp2",
    ".j2k": "image/jp2",
    ".png": "image/png",
    ".tiff": "image/tiff",
    ".tif": "image/tiff",
    ".webp": "image/webp",
}
_VIDEO_MIMES: Mapping[str, str] = {
    ".3gp": "video/3gpp",
    ".3gpp": "video/3gpp",
    ".avi": "video/x-msvideo",
    ".asf": "video/x-ms-asf",
    ".wmv": "video/x-ms-asf",
    ".f4v": "video/mp4",
    ".mp4": "video/mp4",
    ".flv": "video/x-flv",
    ".m4v": "video/x-m4v",
    ".mkv": "video/matroska",
    ".mpg": "video/mpeg",
    ".mov": "video/quicktime",
    ".movie": "video/quicktime",
    ".qt": "video/quicktime",
    ".ogg": "video/ogg",
    ".ogv": "video/ogg",
    ".rm": "application/vnd.rn-realmedia",
    ".rmv": "application/vnd.rn-realmedia",
    ".webm": "video/webm",
}
_NIFTI_MIMES: Mapping[str, str] = {
    ".nii": "application/x-nifti",
    ".nii.gz": "application/x-nifti-gz",
}
DICOM_3D_ZIP_MIME = "application/x-dicom-3d-zip"
RGBD_ZIP_MIME = "application/x-rgbd-zip"
DICOM_MIME = "application/dicom"
DICOM_EXTENSIONS = frozenset({".dcm", ".dicom"})

#: Extension → MIME type for non-RGBD projects (``.zip`` differs in RGBD projects).
MIME_BY_EXTENSION: Mapping[str, str] = {
    **_IMAGE_MIMES,
    **_VIDEO_MIMES,
    **_NIFTI_MIMES,
    ".zip": DICOM_3D_ZIP_MIME,
}

SUPPORTED_MIMES: Mapping[AssetKind, frozenset[str]] = {
    AssetKind.IMAGE: frozenset(_IMAGE_MIMES.values()),
    AssetKind.VIDEO: frozenset(_VIDEO_MIMES.values()),
    AssetKind.MEDICAL_3D: frozenset({*_NIFTI_MIMES.values(), DICOM_3D_ZIP_MIME}),
    AssetKind.RGBD: frozenset({RGBD_ZIP_MIME}),
}
_KIND_OF_MIME: Mapping[str, AssetKind] = {
    mime: kind for kind, mimes in SUPPORTED_MIMES.items() for mime in mimes
}

#: Folder scans of non-RGBD projects. ``.zip`` is not scanned (official behaviour); DICOM files
#: are (they are converted, see the module docstring).
ASSET_SCAN_EXTENSIONS = frozenset({*_IMAGE_MIMES, *_VIDEO_MIMES, *_NIFTI_MIMES, *DICOM_EXTENSIONS})
#: Folder scans of RGBD projects pick up only ``.zip`` archives.
RGBD_SCAN_EXTENSIONS = frozenset({".zip"})
#: Folder scans of annotation imports (§14.3); explicit file paths accept any name.
ANNOTATION_SCAN_EXTENSIONS = frozenset({".json", ".csv", ".xml", ".labels", ".txt", ".nii.gz"})

_DICOM_ADVICE = (
    "a single DICOM file is not an asset type: an upload session's add_path/add_bytes converts "
    "it to a PNG or MP4 asset (with nexus-async[medical]); or put the series' .dcm slices in a "
    f".zip archive (uploaded as {DICOM_3D_ZIP_MIME})"
)

# Content formats that share a container: a file of one is a fine match for another's extension.
_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"video/mp4", "video/x-m4v", "video/3gpp", "video/quicktime"}),
    frozenset({"image/heic", "image/heif", "image/avif"}),
    frozenset({"video/webm", "video/matroska"}),
    frozenset({"application/zip", DICOM_3D_ZIP_MIME, RGBD_ZIP_MIME}),
    frozenset({"application/gzip", "application/x-nifti-gz"}),
)
# filetype names → the server's names.
_FILETYPE_ALIASES: Mapping[str, str] = {
    "image/jpx": "image/jp2",
    "image/apng": "image/png",
    "video/x-matroska": "video/matroska",
    "video/x-ms-wmv": "video/x-ms-asf",
    "audio/ogg": "video/ogg",
}
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_NIFTI1_MAGICS = (b"n+1\0", b"ni1\0")
_NIFTI2_HEADER_SIZE = 540
_TEXT_CONTROL_OK = frozenset("\t\n\r\f\b\x1b")


class DicomFileError(UnsupportedFileError):
    """A DICOM file (by extension or content) where it cannot be converted; the message says
    what to do instead."""


class MedicalFormat(str, enum.Enum):
    """The medical file formats an upload session converts to ordinary assets."""

    DICOM = "dicom"
    NIFTI = "nifti"


@dataclasses.dataclass(frozen=True)
class AssetType:
    """The resolved type of an asset: the MIME string sent to the server, and its kind.

    ``content_mime`` is what the content sniffers recognised (None when not sniffed/unknown).
    """

    mime: str
    kind: AssetKind
    content_mime: str | None = None

    @property
    def max_size(self) -> int:
        """Largest size the server accepts for this kind, in bytes."""
        return KIND_MAX_SIZE[self.kind]


def file_extension(filename: str | os.PathLike[str]) -> str:
    """The lower-cased extension of a file name, ``.nii.gz`` counted as one ('' if none).

    Example::

        file_extension("dir/Scan.NII.GZ")  # ".nii.gz"
    """
    name = os.path.basename(os.fspath(filename)).lower()
    if name.endswith(".nii.gz") and len(name) > len(".nii.gz"):
        return ".nii.gz"
    stem, extension = os.path.splitext(name)
    return extension if stem else ""


def asset_mime_for_extension(extension: str, *, rgbd: bool = False) -> str | None:
    """The server's MIME type for an extension (with its dot, any case), or None.

    Example::

        asset_mime_for_extension(".zip", rgbd=True)  # "application/x-rgbd-zip"
    """
    extension = extension.lower()
    if rgbd and extension == ".zip":
        return RGBD_ZIP_MIME
    return MIME_BY_EXTENSION.get(extension)


def is_annotation_scan_file(filename: str | os.PathLike[str]) -> bool:
    """Whether a folder scan of an annotation import picks this file up (§14.3).

    Example::

        is_annotation_scan_file("labels/COCO.JSON")  # True
    """
    return file_extension(filename) in ANNOTATION_SCAN_EXTENSIONS


def medical_format(
    filename: str | os.PathLike[str], head: bytes | None = None
) -> MedicalFormat | None:
    """The medical format of a file that an upload session converts, by extension (``.dcm``,
    ``.dicom``, ``.nii``, ``.nii.gz``) or, given its first bytes, by DICOM content; else None.

    NIfTI content under another name is not converted (it is uploaded as it is).

    Example::

        medical_format("brain.NII.GZ")    # MedicalFormat.NIFTI
        medical_format("IM0001", head)    # MedicalFormat.DICOM when head[128:132] == b"DICM"
    """
    extension = file_extension(filename)
    if extension in DICOM_EXTENSIONS or (head is not None and head[128:132] == b"DICM"):
        return MedicalFormat.DICOM
    if extension in _NIFTI_MIMES:
        return MedicalFormat.NIFTI
    return None


def _sniff_nifti(head: bytes) -> bool:
    if head[344:348] in _NIFTI1_MAGICS:
        return True
    if head[4:8] == b"n+2\0":
        size = head[:4]
        return _NIFTI2_HEADER_SIZE in (int.from_bytes(size, "little"), int.from_bytes(size, "big"))
    return False


def _sniff_gzip(head: bytes) -> str:
    try:
        inflated = zlib.decompressobj(wbits=31).decompress(head, _NIFTI2_HEADER_SIZE)
    except zlib.error:
        return "application/gzip"
    return "application/x-nifti-gz" if _sniff_nifti(inflated) else "application/gzip"


def _sniff_iso_bmff(head: bytes) -> str | None:
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in _AVIF_BRANDS:
        return "image/avif"
    if brand in _HEIC_BRANDS:
        return "image/heic"
    if brand in _HEIF_BRANDS:
        return "image/heif"
    if brand == b"qt  ":
        return "video/quicktime"
    if brand[:3] in (b"3gp", b"3g2"):
        return "video/3gpp"
    if brand.startswith(b"M4V"):
        return "video/x-m4v"
    if brand.startswith((b"M4A", b"M4B", b"M4P")):
        return "audio/mp4"
    return "video/mp4"


def _looks_like_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return not any(ch < " " and ch not in _TEXT_CONTROL_OK for ch in text)


def sniff_mime(head: bytes) -> str | None:
    """The type of a file from its first bytes (about 600 suffice; 4 KiB are better for
    ``.nii.gz``), in the server's MIME vocabulary where it has one; None when not recognised.

    Besides the asset types it names what it can recognise of other files (``text/plain``,
    ``application/pdf``, ``application/zip``, ``application/dicom``...), so that callers can
    refuse them.

    Example::

        sniff_mime(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(24))  # "image/png"
    """
    if not head:
        return None
    if _sniff_nifti(head):
        return "application/x-nifti"
    if head[128:132] == b"DICM":
        return DICOM_MIME
    if head[:2] == b"\x1f\x8b":
        return _sniff_gzip(head)
    iso = _sniff_iso_bmff(head)
    if iso is not None:
        return iso
    if head.startswith(b".RMF"):
        return "application/vnd.rn-realmedia"
    kind = filetype.guess(head)
    if kind is not None:
        mime = str(kind.mime)
        return _FILETYPE_ALIASES.get(mime, mime)
    return "text/plain" if _looks_like_text(head) else None


def _same_format(declared: str, content: str) -> bool:
    return declared == content or any(
        declared in family and content in family for family in _FAMILIES
    )


def detect_asset_mime(
    filename: str | os.PathLike[str], head: bytes | None = None, *, rgbd: bool = False
) -> AssetType:
    """Resolve the MIME type and kind of an asset from its name and, if given, its first bytes.

    See the module docstring for the rules. Raises :class:`~nexus_async.UnsupportedFileError`
    (naming the file) when the type is not one Nexus accepts, when the file is DICOM, or when
    the content clearly contradicts the extension; :class:`DicomFileError` for DICOM files.

    Example::

        detect_asset_mime("a.JPG", None)                  # AssetType("image/jpeg", IMAGE)
        detect_asset_mime("notes.png", b"hello world")    # UnsupportedFileError (disguised)
    """
    name = os.fspath(filename)
    extension = file_extension(name)
    if extension in DICOM_EXTENSIONS:
        raise DicomFileError(f"{name}: {_DICOM_ADVICE}", path=name)
    declared = asset_mime_for_extension(extension, rgbd=rgbd)
    content = sniff_mime(head) if head else None
    if content == DICOM_MIME:
        raise DicomFileError(f"{name} is a DICOM file: {_DICOM_ADVICE}", path=name)

    if declared is None:
        content_kind = _KIND_OF_MIME.get(content) if content else None
        if content is None or content_kind is None:
            what = f"content type {content}" if content else "content not recognised"
            shown = f"extension {extension!r}" if extension else "no extension"
            raise UnsupportedFileError(
                f"{name}: not a supported asset file ({shown}, {what}); supported extensions: "
                f"{', '.join(sorted(MIME_BY_EXTENSION))}",
                path=name,
            )
        return AssetType(content, content_kind, content)

    kind = _KIND_OF_MIME[declared]
    if content is None or _same_format(declared, content):
        return AssetType(declared, kind, content)
    if _KIND_OF_MIME.get(content) == kind:
        return AssetType(declared, kind, content)
    raise UnsupportedFileError(
        f"{name}: the extension says {declared} but the content is {content}; refusing a file "
        "whose content does not match its extension",
        path=name,
    )
