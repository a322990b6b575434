"""The bad-input catalogue: every case gets a typed error with a clear message, and nothing is
uploaded or created on the (real) emulator.

Each row is ``Case(id, call, error, match)``: ``call(project, tmp_path)`` makes the bad call,
``error`` is the exception type it must raise and ``match`` a regex its message must contain.
Rows marked ``local=True`` are knowable on the client: they must fail before any request
reaches the API (an upload session's entry GET of its project excepted), so nothing at all is
created. The others are only knowable by the server (custom statuses, unknown ids, a box
outside its image): the server refuses them and no asset or annotation changes.

Uploads (add_path/add_bytes):
  missing path, empty folder, folder without asset files, unsupported extension, text named
  .png (disguised), video bytes named .png, zero-byte file, a dangling symlink (unreadable),
  a DICOM file without pixel data, a corrupt, truncated, 2-D or 4-D NIfTI file, nifti_orientation
  with nifti_as_volume, a file over its kind's size limit, duplicate names across folders and
  across add_path/add_bytes, nested / list / non-string-key / oversize / NaN custom metadata,
  bad nifti_orientation, filenames with "/", "..", no extension or empty, over 255 bytes of
  UTF-8 or with control characters, wrong-type paths, bytes, names and flags, bad session
  options (a non-bool skip_existing/background, a negative timeout, a non-callable progress).
Files that change during the upload are refused at transfer time (see the last tests).
Core calls: empty or blank ids, bad statuses, unknown keys, bad pagination and filters (a
limit given as "5" or 5.0), per-call timeout/max_retries of a wrong type or sign, wait
timeouts, export options and annotation frames of the wrong type,
invalid annotation shapes, blank names and titles.
Annotation I/O: import of a missing path or an empty folder, an import file with a box out of
the image (server-side: AnnotationImportError with the log line), unknown export formats,
out-of-range or missing export options, a download of a running export; datasets from a
missing file, a non-.ndjson file, malformed or non-object NDJSON lines (named by number), an
empty file.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import nexus_async
from nexus_async import Project
from nexus_async.testing import EmulatorServer
from tests.media import jpeg_bytes, png_bytes
from tests.medical import dicom_bytes, nifti_bytes, volume

MiB = 1024 * 1024
PNG = png_bytes(4, 4)
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(64)


@dataclass
class Case:
    id: str
    call: Callable[[Project, Path], Awaitable[Any]]
    error: type[Exception]
    match: str
    local: bool = True


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


async def add_path(project: Project, target: Path, **kwargs: Any) -> None:
    async with project.assets.create_upload_session() as session:
        await session.add_path(target, **kwargs)


async def add_bytes(project: Project, data: bytes, name: str, **kwargs: Any) -> None:
    async with project.assets.create_upload_session() as session:
        await session.add_bytes(data, name, **kwargs)


async def twice(project: Project, root: Path) -> None:
    write(root / "a" / "same.png", PNG)
    async with project.assets.create_upload_session() as session:
        await session.add_path(root / "a")
        await session.add_bytes(PNG, "same.png")


def sparse(path: Path, size: int, head: bytes) -> Path:
    with open(path, "wb") as file:
        file.write(head)
        file.truncate(size)
    return path


async def import_path(project: Project, target: Path) -> None:
    async with project.annotations.create_import_session() as session:
        await session.add_path(target)


async def import_out_of_bounds(project: Project, root: Path) -> None:
    labels = write(
        root / "boxes.csv", b"filename,xmin,ymin,xmax,ymax,label\na.png,1,1,900,900,boat\n"
    )
    await import_path(project, labels)


def dataset(project: Project, path: Path) -> Awaitable[Any]:
    return project.batch.datasets.create(name="ds", dataset_path=path)


CSV_HEADER = b"filename,xmin,ymin,xmax,ymax,label\n"


async def _uploader(project: Project, **options: Any) -> None:
    async with project.assets.create_uploader(**options):
        pass


def dangling(root: Path) -> Path:
    link = root / "gone.png"
    os.symlink(root / "nowhere.png", link)
    return link


BOX = [[0.1, 0.1], [0.1, 0.5], [0.5, 0.5], [0.5, 0.1]]

CASES = [
    # --- uploads: paths and file types
    Case(
        "missing-path",
        lambda p, t: add_path(p, t / "missing"),
        nexus_async.InvalidInputError,
        "No such file",
    ),
    Case(
        "empty-folder",
        lambda p, t: add_path(p, (t / "e").mkdir() or t / "e"),
        nexus_async.InvalidInputError,
        "(?i)no asset files",
    ),
    Case(
        "folder-of-text",
        lambda p, t: add_path(p, write(t / "d" / "a.txt", b"x").parent),
        nexus_async.InvalidInputError,
        "(?i)no asset files",
    ),
    Case(
        "unsupported-extension",
        lambda p, t: add_path(p, write(t / "notes.txt", b"hello")),
        nexus_async.UnsupportedFileError,
        "notes.txt",
    ),
    Case(
        "text-disguised-as-png",
        lambda p, t: add_path(p, write(t / "fake.png", b"plain text " * 20)),
        nexus_async.UnsupportedFileError,
        "fake.png",
    ),
    Case(
        "video-disguised-as-png",
        lambda p, t: add_path(p, write(t / "clip.png", MP4)),
        nexus_async.UnsupportedFileError,
        "clip.png",
    ),
    Case(
        "zero-byte-file",
        lambda p, t: add_path(p, write(t / "zero.png", b"")),
        nexus_async.UnsupportedFileError,
        "empty",
    ),
    Case(
        "dangling-symlink",
        lambda p, t: add_path(p, dangling(t)),
        nexus_async.InvalidInputError,
        "gone.png",
    ),
    # --- uploads: medical files (converted locally, so refused before anything is sent)
    Case(
        "dicom-header-only",
        lambda p, t: add_path(p, write(t / "scan.dcm", bytes(128) + b"DICM" + bytes(64))),
        nexus_async.UnsupportedFileError,
        r"scan\.dcm: .*(no pixel data|not a readable DICOM)",
    ),
    Case(
        "dicom-without-pixel-data",
        lambda p, t: add_bytes(p, dicom_bytes(pixels=False), "report.dcm"),
        nexus_async.UnsupportedFileError,
        r"report\.dcm: the DICOM file has no pixel data",
    ),
    Case(
        "corrupt-nifti",
        lambda p, t: add_path(p, write(t / "ct.nii", b"not a NIfTI volume " * 30)),
        nexus_async.UnsupportedFileError,
        r"ct\.nii: not a readable NIfTI",
    ),
    Case(
        "truncated-nifti",
        lambda p, t: add_bytes(p, nifti_bytes()[:500], "cut.nii"),
        nexus_async.UnsupportedFileError,
        r"cut\.nii: .*truncated",
    ),
    Case(
        "truncated-nifti-gz",
        lambda p, t: add_path(p, write(t / "cut.nii.gz", nifti_bytes(gz=True)[:300])),
        nexus_async.UnsupportedFileError,
        r"cut\.nii\.gz: .*truncated",
    ),
    Case(
        "2d-nifti",
        lambda p, t: add_bytes(p, nifti_bytes(volume((8, 8))), "flat.nii"),
        nexus_async.UnsupportedFileError,
        "2-D NIfTI",
    ),
    Case(
        "4d-nifti",
        lambda p, t: add_bytes(p, nifti_bytes(volume((4, 4, 4, 3)), (1.0,) * 4), "t.nii"),
        nexus_async.UnsupportedFileError,
        "4-D NIfTI",
    ),
    Case(
        "orientation-with-native-volume",
        lambda p, t: add_bytes(
            p, nifti_bytes(), "v.nii", nifti_orientation="x", nifti_as_volume=True
        ),
        nexus_async.InvalidInputError,
        "one or the other",
    ),
    Case(
        "image-over-256-mib",
        lambda p, t: add_path(p, sparse(t / "huge.png", 257 * MiB, PNG)),
        nexus_async.FileTooLargeError,
        "huge.png",
    ),
    Case(
        "duplicate-across-folders",
        lambda p, t: add_path(
            p, write(write(t / "x" / "s.png", PNG).parent.parent / "y" / "s.png", PNG).parent.parent
        ),
        nexus_async.DuplicateFilenameError,
        r"s\.png",
    ),
    Case("duplicate-path-then-bytes", twice, nexus_async.DuplicateFilenameError, r"same\.png"),
    # --- uploads: custom metadata and options
    Case(
        "nested-metadata",
        lambda p, t: add_bytes(p, PNG, "a.png", custom_metadata={"gps": {"lat": 1}}),
        nexus_async.InvalidMetadataError,
        "gps",
    ),
    Case(
        "list-metadata",
        lambda p, t: add_bytes(p, PNG, "a.png", custom_metadata={"tags": ["a"]}),
        nexus_async.InvalidMetadataError,
        "tags",
    ),
    Case(
        "non-string-metadata-key",
        lambda p, t: add_bytes(p, PNG, "a.png", custom_metadata={1: "a"}),
        nexus_async.InvalidMetadataError,
        "key",
    ),
    Case(
        "oversize-metadata",
        lambda p, t: add_bytes(p, PNG, "a.png", custom_metadata={"k": "x" * 5000}),
        nexus_async.InvalidMetadataError,
        "bytes",
    ),
    Case(
        "nan-metadata",
        lambda p, t: add_bytes(p, PNG, "a.png", custom_metadata={"v": float("nan")}),
        nexus_async.InvalidMetadataError,
        "v",
    ),
    Case(
        "metadata-not-a-dict",
        lambda p, t: add_bytes(p, PNG, "a.png", custom_metadata=["k"]),
        nexus_async.InvalidMetadataError,
        "mapping|dict",
    ),
    Case(
        "bad-nifti-orientation",
        lambda p, t: add_bytes(p, PNG, "a.nii", nifti_orientation="w"),
        nexus_async.InvalidInputError,
        "nifti_orientation",
    ),
    Case(
        "orientation-on-png",
        lambda p, t: add_bytes(p, PNG, "a.png", nifti_orientation="x"),
        nexus_async.InvalidInputError,
        "NIfTI",
    ),
    Case(
        "filename-with-slash",
        lambda p, t: add_bytes(p, PNG, "dir/a.png"),
        nexus_async.InvalidInputError,
        "dir/a.png",
    ),
    Case(
        "filename-dot-dot",
        lambda p, t: add_bytes(p, PNG, ".."),
        nexus_async.InvalidInputError,
        r"\.\.",
    ),
    Case(
        "filename-without-extension",
        lambda p, t: add_bytes(p, PNG, "picture"),
        nexus_async.UnsupportedFileError,
        "picture",
    ),
    Case(
        "empty-filename",
        lambda p, t: add_bytes(p, PNG, ""),
        nexus_async.InvalidInputError,
        "file name",
    ),
    Case(
        "empty-bytes",
        lambda p, t: add_bytes(p, b"", "a.png"),
        nexus_async.UnsupportedFileError,
        "empty",
    ),
    Case(
        "jpeg-bytes-named-mp4",
        lambda p, t: add_bytes(p, jpeg_bytes(2, 2), "a.mp4"),
        nexus_async.UnsupportedFileError,
        "a.mp4",
    ),
    Case(
        "empty-groups", lambda p, t: _session(p, groups=[]), nexus_async.InvalidInputError, "groups"
    ),
    Case(
        "blank-group",
        lambda p, t: _session(p, groups=["main", " "]),
        nexus_async.InvalidInputError,
        "groups",
    ),
    Case(
        "zero-concurrency",
        lambda p, t: _session(p, max_concurrency=0),
        nexus_async.InvalidInputError,
        "max_concurrency",
    ),
    Case(
        "boolean-concurrency",
        lambda p, t: _session(p, max_concurrency=True),
        nexus_async.InvalidInputError,
        "max_concurrency",
    ),
    Case(
        "oversize-batch",
        lambda p, t: _session(p, batch_size=6000),
        nexus_async.InvalidInputError,
        "batch_size",
    ),
    Case("nothing-added", lambda p, t: _empty_session(p), nexus_async.InvalidInputError, "empty"),
    Case(
        "skip-existing-a-string",
        lambda p, t: _session(p, skip_existing="no"),
        nexus_async.InvalidInputError,
        "skip_existing",
    ),
    Case(
        "background-a-string",
        lambda p, t: _session(p, background="yes"),
        nexus_async.InvalidInputError,
        "background",
    ),
    Case(
        "negative-session-timeout",
        lambda p, t: _session(p, timeout=-1),
        nexus_async.InvalidInputError,
        "timeout",
    ),
    Case(
        "progress-not-callable",
        lambda p, t: _session(p, progress=123),
        nexus_async.InvalidInputError,
        "progress",
    ),
    Case(
        "filename-over-255-bytes",
        lambda p, t: add_bytes(p, PNG, "a" * 4996 + ".png"),
        nexus_async.InvalidInputError,
        "255 bytes",
    ),
    Case(
        "filename-255-bytes-of-utf8",
        lambda p, t: add_bytes(p, PNG, "写" * 85 + ".png"),
        nexus_async.InvalidInputError,
        "255 bytes",
    ),
    Case(
        "filename-with-nul",
        lambda p, t: add_bytes(p, PNG, "a\x00b.png"),
        nexus_async.InvalidInputError,
        "control characters",
    ),
    Case(
        "filename-with-newline",
        lambda p, t: add_bytes(p, PNG, "a\nb.png"),
        nexus_async.InvalidInputError,
        "control characters",
    ),
    Case(
        "filename-not-a-string",
        lambda p, t: add_bytes(p, PNG, 5),
        nexus_async.InvalidInputError,
        "file name",
    ),
    Case(
        "bytes-a-string",
        lambda p, t: add_bytes(p, "PNG", "a.png"),
        nexus_async.InvalidInputError,
        "file_bytes must be bytes",
    ),
    Case(
        "bytes-none",
        lambda p, t: add_bytes(p, None, "a.png"),
        nexus_async.InvalidInputError,
        "file_bytes must be bytes",
    ),
    Case(
        "path-an-int",
        lambda p, t: add_path(p, 123),
        nexus_async.InvalidInputError,
        "file_path",
    ),
    Case(
        "path-none",
        lambda p, t: add_path(p, None),
        nexus_async.InvalidInputError,
        "file_path",
    ),
    Case(
        "nifti-as-volume-a-string",
        lambda p, t: add_path(p, write(t / "a.png", PNG), nifti_as_volume="yes"),
        nexus_async.InvalidInputError,
        "nifti_as_volume",
    ),
    Case(
        "import-path-an-int",
        lambda p, t: import_path(p, 123),
        nexus_async.InvalidInputError,
        "file_path",
    ),
    Case(
        "dataset-path-an-int",
        lambda p, t: p.batch.datasets.create(name="ds", dataset_path=5),
        nexus_async.InvalidInputError,
        "dataset_path",
    ),
    Case(
        "download-path-an-int",
        lambda p, t: p.annotations.download_exported_file("op", 5),
        nexus_async.InvalidInputError,
        "path",
    ),
    Case(
        "uploader-negative-timeout",
        lambda p, t: _uploader(p, timeout=-2),
        nexus_async.InvalidInputError,
        "timeout",
    ),
    # --- core calls
    Case(
        "per-call-timeout-negative",
        lambda p, t: p.get_info(timeout=-1),
        nexus_async.InvalidInputError,
        "timeout",
    ),
    Case(
        "per-call-timeout-a-string",
        lambda p, t: p.get_info(timeout="5"),
        nexus_async.InvalidInputError,
        "timeout",
    ),
    Case(
        "per-call-max-retries-negative",
        lambda p, t: p.get_info(max_retries=-1),
        nexus_async.InvalidInputError,
        "max_retries",
    ),
    Case(
        "per-call-max-retries-a-string",
        lambda p, t: p.assets.get("a.png", max_retries="2"),
        nexus_async.InvalidInputError,
        "max_retries",
    ),
    Case(
        "limit-a-numeric-string",
        lambda p, t: p.assets.list(limit="5"),
        nexus_async.InvalidInputError,
        "limit",
    ),
    Case(
        "limit-a-float",
        lambda p, t: p.assets.list({"limit": 5.0}),
        nexus_async.InvalidInputError,
        "limit",
    ),
    Case(
        "iter-limit-a-string",
        lambda p, t: p.assets.iter(limit="5").__anext__(),
        nexus_async.InvalidInputError,
        "limit",
    ),
    Case(
        "update-not-a-mapping",
        lambda p, t: p.assets.update("a.png", "Annotated"),
        nexus_async.InvalidInputError,
        "AssetUpdate",
    ),
    Case(
        "groups-a-string",
        lambda p, t: p.assets.list_groups("main"),
        nexus_async.InvalidInputError,
        "groups",
    ),
    Case(
        "wait-negative-timeout",
        lambda p, t: p.operations.wait_until_done("op", timeout=-1),
        nexus_async.InvalidInputError,
        "timeout",
    ),
    Case(
        "export-seed-a-string",
        lambda p, t: p.annotations.create_export(
            {"format": "csv_fourcorner", "options": {"split_ratio": 0.5, "seed": "3"}}
        ),
        nexus_async.InvalidInputError,
        "seed",
    ),
    Case(
        "export-normalized-a-string",
        lambda p, t: p.annotations.create_export(
            {
                "format": "csv_fourcorner",
                "options": {"split_ratio": 0.5, "seed": 3, "normalized": "no"},
            }
        ),
        nexus_async.InvalidInputError,
        "normalized",
    ),
    Case(
        "annotation-frame-a-string",
        lambda p, t: p.annotations.create(
            {"asset_id": "x", "tag": "t", "bound_type": "Rectangle", "bound": BOX, "frame": "1"}
        ),
        nexus_async.InvalidInputError,
        "frame",
    ),
    Case(
        "empty-asset-id",
        lambda p, t: p.assets.get(""),
        nexus_async.InvalidInputError,
        "asset_id_or_name",
    ),
    Case(
        "blank-annotation-id",
        lambda p, t: p.annotations.get("   "),
        nexus_async.InvalidInputError,
        "annotation_id",
    ),
    Case(
        "empty-operation-id",
        lambda p, t: p.operations.get(""),
        nexus_async.InvalidInputError,
        "op_id",
    ),
    Case(
        "empty-dataset-id",
        lambda p, t: p.batch.datasets.get(""),
        nexus_async.InvalidInputError,
        "dataset_id",
    ),
    Case(
        "non-string-id", lambda p, t: p.workflows.get(42), nexus_async.InvalidInputError, "flow_id"
    ),  # type: ignore[arg-type]
    Case(
        "status-not-a-string",
        lambda p, t: p.assets.update("a.png", {"status": 3}),
        nexus_async.InvalidInputError,
        "status",
    ),
    Case(
        "blank-status",
        lambda p, t: p.assets.update("a.png", {"status": " "}),
        nexus_async.InvalidInputError,
        "status",
    ),
    Case(
        "unknown-update-key",
        lambda p, t: p.assets.update("a.png", {"colour": "red"}),
        nexus_async.InvalidInputError,
        "colour",
    ),
    Case(
        "groups-not-a-list",
        lambda p, t: p.assets.update("a.png", {"groups": "main"}),
        nexus_async.InvalidInputError,
        "groups",
    ),
    Case(
        "limit-zero",
        lambda p, t: p.assets.list({"limit": 0}),
        nexus_async.InvalidInputError,
        "limit",
    ),
    Case(
        "limit-over-1000",
        lambda p, t: p.assets.list({"limit": 1001}),
        nexus_async.InvalidInputError,
        "limit",
    ),
    Case(
        "limit-not-a-number",
        lambda p, t: p.annotations.list({"limit": "ten"}),
        nexus_async.InvalidInputError,
        "limit",
    ),
    Case(
        "unknown-pagination-key",
        lambda p, t: p.batch.datasets.list({"cursor": "x"}),
        nexus_async.InvalidInputError,
        "cursor",
    ),
    Case(
        "unknown-filter-key",
        lambda p, t: p.assets.list(filters={"colour": "red"}),
        nexus_async.InvalidInputError,
        "colour",
    ),
    Case(
        "asset-filter-not-json",
        lambda p, t: p.assets.list(filters={"asset_filter": "{oops"}),
        nexus_async.InvalidInputError,
        "JSON",
    ),
    Case(
        "bad-bound-type",
        lambda p, t: p.annotations.create(
            {"asset_id": "a", "tag": "t", "bound_type": "Circle", "bound": BOX}
        ),
        nexus_async.InvalidInputError,
        "bound_type",
    ),
    Case(
        "point-of-one-number",
        lambda p, t: p.annotations.create(
            {"asset_id": "a", "tag": "t", "bound_type": "Polygon", "bound": [[0.1]]}
        ),
        nexus_async.InvalidInputError,
        "point",
    ),
    Case(
        "annotation-without-asset",
        lambda p, t: p.annotations.create({"tag": "t", "bound_type": "Rectangle", "bound": BOX}),
        nexus_async.InvalidInputError,
        "asset_id",
    ),
    Case(
        "blank-project-name",
        lambda p, t: p.update({"name": "  "}),
        nexus_async.InvalidInputError,
        "blank",
    ),
    Case(
        "empty-workflow-title",
        lambda p, t: p.workflows.update("flow_1", {"title": ""}),
        nexus_async.InvalidInputError,
        "title",
    ),
    # --- annotation imports, exports and datasets
    Case(
        "import-missing-path",
        lambda p, t: import_path(p, t / "nope"),
        nexus_async.InvalidInputError,
        "No such file",
    ),
    Case(
        "import-empty-folder",
        lambda p, t: import_path(p, (t / "e").mkdir() or t / "e"),
        nexus_async.InvalidInputError,
        "(?i)no annotation files",
    ),
    Case(
        "import-box-out-of-bounds",
        import_out_of_bounds,
        nexus_async.AnnotationImportError,
        "out of bounds",
        local=False,
    ),
    Case(
        "export-unknown-format",
        lambda p, t: p.annotations.create_export(
            {"format": "jpeg", "options": {"split_ratio": 0.1, "seed": 1}}
        ),
        nexus_async.InvalidInputError,
        "format",
    ),
    Case(
        "export-split-over-1",
        lambda p, t: p.annotations.create_export(
            {"format": "coco", "options": {"split_ratio": 1.5, "seed": 1}}
        ),
        nexus_async.InvalidInputError,
        "split_ratio",
    ),
    Case(
        "export-seed-not-an-int",
        lambda p, t: p.annotations.create_export(
            {"format": "coco", "options": {"split_ratio": 0.1, "seed": "7"}}
        ),
        nexus_async.InvalidInputError,
        "seed",
    ),
    Case(
        "export-unknown-option",
        lambda p, t: p.annotations.create_export(
            {"format": "coco", "options": {"split_ratio": 0.1, "seed": 1, "zip": True}}
        ),
        nexus_async.InvalidInputError,
        "zip",
    ),
    Case(
        "download-unknown-export",
        lambda p, t: p.annotations.download_exported_file(
            "op_00000000-0000-4000-8000-000000000000", t
        ),
        nexus_async.NotFoundError,
        ".",
        local=False,
    ),
    Case(
        "dataset-missing-file",
        lambda p, t: dataset(p, t / "none.ndjson"),
        nexus_async.InvalidInputError,
        "none.ndjson",
    ),
    Case(
        "dataset-not-ndjson",
        lambda p, t: dataset(p, write(t / "items.json", b"{}\n")),
        nexus_async.InvalidInputError,
        "ndjson",
    ),
    Case(
        "dataset-malformed-line",
        lambda p, t: dataset(p, write(t / "a.ndjson", b'{"kind": "Image"}\n{oops\n')),
        nexus_async.InvalidInputError,
        "line 2",
    ),
    Case(
        "dataset-line-not-object",
        lambda p, t: dataset(p, write(t / "b.ndjson", b'{"kind": "Image"}\n{"a": 1}\n[1, 2]\n')),
        nexus_async.InvalidInputError,
        "line 3",
    ),
    Case(
        "dataset-empty-file",
        lambda p, t: dataset(p, write(t / "c.ndjson", b"")),
        nexus_async.InvalidInputError,
        "empty",
    ),
    # --- knowable only by the server
    Case(
        "unknown-status",
        lambda p, t: p.assets.update("a.png", {"status": "Nonexistent"}),
        nexus_async.BadRequestError,
        ".",
        local=False,
    ),
    Case(
        "unknown-asset",
        lambda p, t: p.assets.update("missing.png", {"status": "Annotated"}),
        nexus_async.NotFoundError,
        ".",
        local=False,
    ),
    Case(
        "bad-cursor",
        lambda p, t: p.assets.list({"page": "not-a-cursor"}),
        nexus_async.BadRequestError,
        ".",
        local=False,
    ),
    Case(
        "out-of-bounds-box",
        lambda p, t: _annotate(p, [[0.1, 0.1], [0.1, 1.5], [0.5, 1.5], [0.5, 0.1]]),
        nexus_async.BadRequestError,
        ".",
        local=False,
    ),
]


async def _session(project: Project, **options: Any) -> None:
    project.assets.create_upload_session(**options)


async def _empty_session(project: Project) -> None:
    async with project.assets.create_upload_session():
        pass


async def _annotate(project: Project, bound: list[list[float]]) -> None:
    asset = await project.assets.get("a.png")
    await project.annotations.create(
        {"asset_id": asset.id, "tag": "boat", "bound_type": "Rectangle", "bound": bound}
    )


def test_the_catalogue_has_at_least_40_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_bad_input(
    case: Case, seeded: Project, server: EmulatorServer, tmp_path: Path
) -> None:
    before = server.control.stats()
    with pytest.raises(case.error, match=case.match):
        await case.call(seeded, tmp_path)
    after = server.control.stats()
    assert after["assets_stored"] == before["assets_stored"]  # nothing uploaded...
    assert after["storage"]["requests"] == before["storage"]["requests"] or not case.local
    assert [a async for a in seeded.annotations.iter()] == []  # ...nothing annotated
    if case.local:  # and nothing created: no request but the upload session's entry GET
        assert after["created"] == before["created"]
        sent = {
            route: n - before["requests"].get(route, 0) for route, n in after["requests"].items()
        }
        assert {route for route, n in sent.items() if n} <= {"project_get"}


async def test_a_file_changed_after_it_was_added_is_refused_at_transfer(
    seeded: Project, server: EmulatorServer, tmp_path: Path, sleeps: list[float]
) -> None:
    shrinking = write(tmp_path / "shrink.png", png_bytes(8, 8, extra=bytes(500)))
    rewritten = write(tmp_path / "rewrite.png", png_bytes(9, 9, extra=bytes(500)))
    with pytest.raises(nexus_async.UploadError) as caught:
        async with seeded.assets.create_upload_session(max_concurrency=1) as session:
            await session.add_path(shrinking)
            await session.add_path(rewritten)
            shrinking.write_bytes(PNG)  # now shorter than described
            rewritten.write_bytes(png_bytes(9, 9, extra=b"\x01" * 500))  # same size, other bytes
    assert {failed.filename for failed in caught.value.failed} <= {"shrink.png", "rewrite.png"}
    assert caught.value.failed
    stats = server.control.stats()
    assert stats["open_upload_sessions"] == 0
    names = [asset.filename async for asset in seeded.assets.iter()]
    assert "shrink.png" not in names


async def test_filenames_with_reserved_and_unicode_characters_are_valid(
    project: Project, server: EmulatorServer
) -> None:
    names = ["a#1.png", "what?.png", "50% off&more=yes+.png", "ñandú 写真.png", "space name.png"]
    async with project.assets.create_upload_session() as session:
        for name in names:
            await session.add_bytes(png_bytes(3, 3), name)
    for name in names:
        assert (await project.assets.get(name)).filename == name
