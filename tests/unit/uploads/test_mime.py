from __future__ import annotations

import pytest

from nexus_async import UnsupportedFileError
from nexus_async.uploads.mime import (
    ANNOTATION_SCAN_EXTENSIONS,
    ASSET_SCAN_EXTENSIONS,
    KIND_MAX_SIZE,
    MIME_BY_EXTENSION,
    SUPPORTED_MIMES,
    AssetKind,
    DicomFileError,
    MedicalFormat,
    asset_mime_for_extension,
    detect_asset_mime,
    file_extension,
    is_annotation_scan_file,
    medical_format,
    sniff_mime,
)

from .conftest import (
    GIF,
    HEIC,
    JP2,
    JPEG,
    MOV,
    MP4,
    PDF,
    PNG,
    TEXT,
    ZIP,
    dicom,
    nifti1,
    nifti2,
    nifti_gz,
)

# nexus-api.md §14.1, row by row.
TABLE = {
    ".avif": "image/avif", ".bmp": "image/bmp", ".gif": "image/gif", ".heic": "image/heic",
    ".heif": "image/heif", ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".jfif": "image/jpeg",
    ".jp2": "image/jp2", ".j2k": "image/jp2", ".png": "image/png", ".tiff": "image/tiff",
    ".tif": "image/tiff", ".webp": "image/webp", ".3gp": "video/3gpp", ".3gpp": "video/3gpp",
    ".avi": "video/x-msvideo", ".asf": "video/x-ms-asf", ".wmv": "video/x-ms-asf",
    ".f4v": "video/mp4", ".mp4": "video/mp4", ".flv": "video/x-flv", ".m4v": "video/x-m4v",
    ".mkv": "video/matroska", ".mpg": "video/mpeg", ".mov": "video/quicktime",
    ".movie": "video/quicktime", ".qt": "video/quicktime", ".ogg": "video/ogg",
    ".ogv": "video/ogg", ".rm": "application/vnd.rn-realmedia",
    ".rmv": "application/vnd.rn-realmedia", ".webm": "video/webm",
    ".nii": "application/x-nifti", ".nii.gz": "application/x-nifti-gz",
    ".zip": "application/x-dicom-3d-zip",
}  # fmt: skip


def test_extension_table_matches_spec() -> None:
    assert dict(MIME_BY_EXTENSION) == TABLE
    assert asset_mime_for_extension(".ZIP", rgbd=True) == "application/x-rgbd-zip"
    assert asset_mime_for_extension(".txt") is None


def test_supported_lists_and_limits() -> None:
    assert SUPPORTED_MIMES[AssetKind.MEDICAL_3D] == {
        "application/x-nifti-gz",
        "application/x-nifti",
        "application/x-dicom-3d-zip",
    }
    assert SUPPORTED_MIMES[AssetKind.RGBD] == {"application/x-rgbd-zip"}
    assert len(SUPPORTED_MIMES[AssetKind.IMAGE]) == 10
    assert len(SUPPORTED_MIMES[AssetKind.VIDEO]) == 12
    assert KIND_MAX_SIZE[AssetKind.IMAGE] == 268_435_456
    assert KIND_MAX_SIZE[AssetKind.VIDEO] == 512 * 2**30
    assert KIND_MAX_SIZE[AssetKind.MEDICAL_3D] == 2**30
    assert KIND_MAX_SIZE[AssetKind.RGBD] == 512 * 2**20


def test_scan_sets() -> None:
    assert {".dcm", ".dicom"} <= ASSET_SCAN_EXTENSIONS  # converted by upload sessions
    assert ".zip" not in ASSET_SCAN_EXTENSIONS
    assert {".nii", ".nii.gz", ".png", ".webm"} <= ASSET_SCAN_EXTENSIONS
    assert {".json", ".csv", ".xml", ".labels", ".txt", ".nii.gz"} == ANNOTATION_SCAN_EXTENSIONS
    assert is_annotation_scan_file("x/LABELS.CSV")
    assert is_annotation_scan_file("a.NII.GZ")
    assert not is_annotation_scan_file("a.gz")


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("a.PNG", ".png"),
        ("dir/Scan.NII.GZ", ".nii.gz"),
        ("x.tar.gz", ".gz"),
        ("noext", ""),
        (".nii.gz", ".gz"),  # a hidden ".nii" file, gzipped
        (".hidden", ""),
    ],
)
def test_file_extension(name: str, extension: str) -> None:
    assert file_extension(name) == extension


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (MP4, "video/mp4"),
        (MOV, "video/quicktime"),
        (HEIC, "image/heic"),
        (JP2, "image/jp2"),
        (ZIP, "application/zip"),
        (PDF, "application/pdf"),
        (TEXT, "text/plain"),
        (nifti1(), "application/x-nifti"),
        (nifti1(b"ni1\0"), "application/x-nifti"),
        (nifti2(), "application/x-nifti"),
        (nifti_gz(), "application/x-nifti-gz"),
        (__import__("gzip").compress(b"plain text"), "application/gzip"),
        (dicom(), "application/dicom"),
        (b".RMF\x00\x00\x00\x12", "application/vnd.rn-realmedia"),
        (b"\x00\x01\x02\x03\xfe\xff", None),
        (b"", None),
    ],
)
def test_sniff(head: bytes, mime: str | None) -> None:
    assert sniff_mime(head) == mime


def test_extension_first_without_head() -> None:
    found = detect_asset_mime("A.JPG", None)
    assert (found.mime, found.kind, found.content_mime) == ("image/jpeg", AssetKind.IMAGE, None)
    assert detect_asset_mime("s.Nii.Gz").mime == "application/x-nifti-gz"
    assert detect_asset_mime("v.zip").kind is AssetKind.MEDICAL_3D
    assert detect_asset_mime("v.zip", rgbd=True).kind is AssetKind.RGBD
    assert detect_asset_mime("clip.mkv").max_size == 512 * 2**30


@pytest.mark.parametrize(
    ("name", "head", "mime", "kind"),
    [
        ("frame", PNG, "image/png", AssetKind.IMAGE),
        ("frame.bin", JPEG, "image/jpeg", AssetKind.IMAGE),
        ("volume", nifti1(), "application/x-nifti", AssetKind.MEDICAL_3D),
        ("volume.gz", nifti_gz(), "application/x-nifti-gz", AssetKind.MEDICAL_3D),
        ("movie.dat", MP4, "video/mp4", AssetKind.VIDEO),
        ("still", JP2, "image/jp2", AssetKind.IMAGE),
    ],
)
def test_unknown_extension_sniffed(name: str, head: bytes, mime: str, kind: AssetKind) -> None:
    found = detect_asset_mime(name, head)
    assert (found.mime, found.kind) == (mime, kind)


@pytest.mark.parametrize(
    ("name", "head", "mime"),
    [
        ("a.png", PNG, "image/png"),
        ("a.mov", MP4, "video/quicktime"),  # same ISO-BMFF container
        ("a.mp4", MOV, "video/mp4"),
        ("a.heif", HEIC, "image/heif"),
        ("a.png", JPEG, "image/png"),  # misnamed within the image kind: extension wins
        ("a.zip", ZIP, "application/x-dicom-3d-zip"),
        ("a.nii.gz", nifti_gz(), "application/x-nifti-gz"),
        ("a.nii", nifti2(), "application/x-nifti"),
        ("a.avi", b"\x00\x01\x02\x03\xfe\xff", "video/x-msvideo"),  # unknown binary: trusted
    ],
)
def test_known_extension_with_matching_content(name: str, head: bytes, mime: str) -> None:
    found = detect_asset_mime(name, head)
    assert found.mime == mime


@pytest.mark.parametrize(
    ("name", "head", "content"),
    [
        ("notes.png", TEXT, "text/plain"),
        ("doc.jpg", PDF, "application/pdf"),
        ("clip.png", MP4, "video/mp4"),
        ("photo.mp4", PNG, "image/png"),
        ("archive.jpg", ZIP, "application/zip"),
        ("scan.nii", TEXT, "text/plain"),
        ("x.zip", PNG, "image/png"),
    ],
)
def test_disguised_files_refused(name: str, head: bytes, content: str) -> None:
    with pytest.raises(UnsupportedFileError, match="content is") as info:
        detect_asset_mime(name, head)
    assert name in str(info.value)
    assert content in str(info.value)
    assert info.value.path == name


@pytest.mark.parametrize(
    ("name", "head"),
    [("notes.txt", None), ("notes.txt", TEXT), ("noext", None), ("doc", PDF), ("bundle", ZIP)],
)
def test_unsupported_files(name: str, head: bytes | None) -> None:
    with pytest.raises(UnsupportedFileError, match="not a supported asset file") as info:
        detect_asset_mime(name, head)
    assert name in str(info.value)


@pytest.mark.parametrize(("name", "head"), [("ct.dcm", None), ("ct.DCM", dicom()), ("ct", dicom())])
def test_dicom_is_refused_explicitly(name: str, head: bytes | None) -> None:
    with pytest.raises(DicomFileError, match=r"add_path/add_bytes converts") as info:
        detect_asset_mime(name, head)
    assert name in str(info.value)
    assert "application/x-dicom-3d-zip" in str(info.value)
    assert isinstance(info.value, UnsupportedFileError)


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("ct.dcm", None, MedicalFormat.DICOM),
        ("CT.DICOM", None, MedicalFormat.DICOM),
        ("IM0001", dicom(), MedicalFormat.DICOM),
        ("scan.png", dicom(), MedicalFormat.DICOM),
        ("brain.NII.GZ", None, MedicalFormat.NIFTI),
        ("brain.nii", nifti1(), MedicalFormat.NIFTI),
        ("volume", nifti1(), None),  # NIfTI content under another name: uploaded as it is
        ("a.png", PNG, None),
        ("a.png", None, None),
    ],
)
def test_medical_format(name: str, head: bytes | None, expected: MedicalFormat | None) -> None:
    assert medical_format(name, head) is expected
