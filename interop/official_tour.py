"""Interop proof: a scripted tour of the seed docs, driven by the official ``datature`` client.

Run this script INSIDE a virtual environment that has the official, unmodified
``datature==1.12.2`` installed (it never imports ``nexus_async``), pointed at a running Nexus
emulator::

    python interop/official_tour.py --base-url http://127.0.0.1:PORT \\
        --secret-key KEY --project-id proj_... [--workspace-id ws_...]

The three values may also come from the environment (``DATATURE_API_BASE_URL``,
``NEXUS_SECRET_KEY``, ``NEXUS_PROJECT_ID``, ``NEXUS_WORKSPACE_ID``). ``nox -s interop`` starts
an emulator and runs this script for you.

Every example call of the seed docs (``/work/shared/seed-docs``: workspace, assets,
annotations, batch datasets, workflows) is one step. Each step runs the documented call, then
verifies what it can through the same client (uploaded assets are listed with the right names,
sizes and dimensions; imported annotations appear with the right boxes; the exported archive
holds those boxes; the dataset reaches ``Uploaded`` with the right item count; ...). One line
per step is printed: ``PASS <step>``, ``FAIL <step>: <error>`` or ``SKIP <step>: <reason>``.
A step is skipped only when datature 1.12.2 itself cannot make the documented call (the step
then proves that by making the call and showing the client-side rejection). The last line is
``N passed, M failed, K skipped``; the exit status is 1 if any step failed.

All fixtures (PNG images written with zlib/struct, JPEGs through Pillow, an MP4 through
OpenCV and a NIfTI volume through nibabel -- the last three are dependencies of datature
itself -- plus CSV four-corner annotation files and an NDJSON dataset) are generated in a
temporary directory and removed afterwards.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import inspect
import io
import ipaddress
import json
import os
import secrets
import struct
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

OFFICIAL_SDK_VERSION = "1.12.2"
STEP_TIMEOUT_SECONDS = 120.0
BOX_TOLERANCE = 2e-3
UNSUPPORTED = f"unsupported by datature {OFFICIAL_SDK_VERSION}"


# --------------------------------------------------------------------------------------------
# Step runner
# --------------------------------------------------------------------------------------------


class StepSkippedError(Exception):
    """Raised by a step whose documented call the official client cannot make."""


class CheckFailedError(AssertionError):
    """Raised when a step's result does not match what the seed docs promise."""


def check(condition: object, message: str) -> None:
    """Fail the current step with ``message`` unless ``condition`` is truthy."""
    if not condition:
        raise CheckFailedError(message)


def describe_error(exc: BaseException) -> str:
    """One-line description of an exception: type, message and the innermost frame."""
    message = getattr(exc, "message", None) or str(exc) or repr(exc)
    detail = getattr(exc, "detail", None)
    text = f"{type(exc).__name__}: {message}"
    if detail and str(detail) not in text:
        text += f" (detail: {detail})"
    if not isinstance(exc, CheckFailedError):
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            last = frames[-1]
            text += f" [at {Path(last.filename).name}:{last.lineno}]"
    return " ".join(text.split())


@dataclass
class Outcome:
    """The result of one tour step."""

    name: str
    status: str  # "PASS", "FAIL" or "SKIP"
    detail: str
    seconds: float


class StepRunner:
    """Runs named steps in order, catching every exception, and prints one line per step.

    A step that outlives its time budget -- typically the official client polling an operation
    that can no longer finish, which it does for 10 hours with no way to interrupt it (weakness
    #5) -- ends the tour: that step and every step not yet run are reported as failures, the
    summary is printed and the process exits with status 1 without waiting for the client's
    threads.
    """

    def __init__(self, timeout_seconds: float = STEP_TIMEOUT_SECONDS) -> None:
        self.outcomes: list[Outcome] = []
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()

    def run_all(self, steps: list[tuple[str, Callable[[], object]]]) -> None:
        """Run every step, each under a watchdog timer."""
        for index, (name, step) in enumerate(steps):
            timer = threading.Timer(
                self.timeout_seconds, self._abandon, (steps[index:], time.perf_counter())
            )
            timer.daemon = True
            timer.start()
            try:
                self.run(name, step)
            finally:
                timer.cancel()

    def run(self, name: str, step: Callable[[], object]) -> Outcome:
        """Run ``step`` and record PASS, FAIL (any exception) or SKIP (StepSkippedError)."""
        start = time.perf_counter()
        try:
            step()
        except StepSkippedError as exc:
            status, detail = "SKIP", str(exc)
        except Exception as exc:
            status, detail = "FAIL", describe_error(exc)
        else:
            status, detail = "PASS", ""
        with self._lock:
            return self._emit(Outcome(name, status, detail, time.perf_counter() - start))

    def _emit(self, outcome: Outcome) -> Outcome:
        """Record and print one outcome (the caller holds the lock)."""
        self.outcomes.append(outcome)
        suffix = f": {outcome.detail}" if outcome.detail else ""
        print(f"{outcome.status} {outcome.name}{suffix} ({outcome.seconds:.2f} s)", flush=True)
        return outcome

    def _abandon(self, remaining: list[tuple[str, Callable[[], object]]], start: float) -> None:
        """Watchdog: fail the hung step and every later one, then end the process."""
        self._lock.acquire()  # never released: the process ends here
        hung = f"no result after {self.timeout_seconds:.0f} s (the tour stops here)"
        self._emit(Outcome(remaining[0][0], "FAIL", hung, time.perf_counter() - start))
        for name, _step in remaining[1:]:
            self._emit(Outcome(name, "FAIL", "not run: an earlier step hung", 0.0))
        print(self.summary(), flush=True)
        os._exit(1)

    def count(self, status: str) -> int:
        """Number of recorded steps with the given status."""
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    def summary(self) -> str:
        """The final summary line: ``N passed, M failed, K skipped``."""
        return (
            f"{self.count('PASS')} passed, {self.count('FAIL')} failed, "
            f"{self.count('SKIP')} skipped"
        )


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


def png_bytes(width: int, height: int, seed: int) -> bytes:
    """A real RGB PNG with a gradient pattern, written with zlib and struct only."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type "None"
        for x in range(width):
            rows += bytes(((x * 7 + seed) % 256, (y * 5 + seed) % 256, (x + y + seed) % 256))

    def chunk(tag: bytes, data: bytes) -> bytes:
        """One PNG chunk: length, tag, data, CRC-32 of tag + data."""
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes(width: int, height: int, seed: int) -> bytes:
    """A real baseline JPEG (Pillow is a dependency of datature 1.12.2)."""
    image_module = importlib.import_module("PIL.Image")
    buffer = io.BytesIO()
    image = image_module.open(io.BytesIO(png_bytes(width, height, seed)))
    image.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_mp4(path: Path, width: int, height: int, frames: int) -> None:
    """A real MP4 video (OpenCV and numpy are dependencies of datature 1.12.2)."""
    cv2 = importlib.import_module("cv2")
    numpy = importlib.import_module("numpy")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (width, height))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MP4 files here")
    for index in range(frames):
        writer.write(numpy.full((height, width, 3), index * 40 % 256, dtype=numpy.uint8))
    writer.release()


def nifti_bytes(shape: tuple[int, int, int]) -> bytes:
    """A real single-file NIfTI-1 volume (nibabel is a dependency of datature 1.12.2)."""
    nibabel = importlib.import_module("nibabel")
    numpy = importlib.import_module("numpy")
    volume = numpy.arange(shape[0] * shape[1] * shape[2], dtype=numpy.uint8).reshape(shape)
    image = nibabel.Nifti1Image(volume, numpy.eye(4))
    return bytes(image.to_bytes())


def dicom_probe_bytes() -> bytes:
    """A DICOM Part-10 preamble ("DICM" at offset 128) followed by one group-length element."""
    return b"\0" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + struct.pack("<I", 0)


@dataclass
class AssetFixture:
    """One generated asset file and what the server should report about it."""

    path: Path
    mime: str
    groups: list[str]
    width: int = 0
    height: int = 0

    @property
    def filename(self) -> str:
        """The asset's filename (unique within the project)."""
        return self.path.name

    @property
    def size(self) -> int:
        """The file size in bytes."""
        return self.path.stat().st_size


@dataclass(frozen=True)
class Box:
    """A rectangle annotation on one asset, in normalised coordinates."""

    filename: str
    tag: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    def matches(self, other: Box) -> bool:
        """Same asset, tag and corners within BOX_TOLERANCE."""
        return (
            self.filename == other.filename
            and self.tag == other.tag
            and all(
                abs(a - b) <= BOX_TOLERANCE
                for a, b in zip(self.corners(), other.corners(), strict=True)
            )
        )

    def corners(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)``."""
        return (self.xmin, self.ymin, self.xmax, self.ymax)

    def bound(self) -> list[list[float]]:
        """The four corners in the order of the seed docs' Rectangle example."""
        return [
            [self.xmin, self.ymin],
            [self.xmin, self.ymax],
            [self.xmax, self.ymax],
            [self.xmax, self.ymin],
        ]


def box_from_pixels(asset: AssetFixture, tag: str, corners: tuple[int, int, int, int]) -> Box:
    """A Box from pixel corners ``(xmin, ymin, xmax, ymax)`` on ``asset``."""
    xmin, ymin, xmax, ymax = corners
    return Box(
        asset.filename,
        tag,
        xmin / asset.width,
        ymin / asset.height,
        xmax / asset.width,
        ymax / asset.height,
    )


def fourcorner_csv(rows: list[tuple[str, tuple[int, int, int, int], str]]) -> bytes:
    """A CSV four-corner annotation file: ``filename,xmin,ymin,xmax,ymax,label`` in pixels."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["filename", "xmin", "ymin", "xmax", "ymax", "label"])
    for filename, (xmin, ymin, xmax, ymax), label in rows:
        writer.writerow([filename, xmin, ymin, xmax, ymax, label])
    return buffer.getvalue().encode()


class Fixtures:
    """Generates every file the tour uploads, in a temporary directory.

    ``root/asset-folder`` holds the images of the folder upload, ``root/annotation-folder``
    the CSV files of the folder import; files only ever sent with ``add_bytes`` live in
    ``root/bytes`` (written only so that their size is known).
    """

    def __init__(self, root: Path, tag: str) -> None:
        self.root = root
        self.tag = tag
        self.folder = root / "asset-folder"
        self.bytes_dir = root / "bytes"
        self.annotation_folder = root / "annotation-folder"
        for directory in (self.folder, self.bytes_dir, self.annotation_folder):
            directory.mkdir()
        self.single = self._image(root, "single.png", 64, 48)
        self.folder_images = [
            self._image(self.folder, "folder-1.png", 96, 64),
            self._image(self.folder, "folder-2.png", 50, 50),
            self._image(self.folder, "folder-3.jpg", 80, 60),
        ]
        self.bytes_image = self._image(self.bytes_dir, "bytes.png", 40, 30)
        self.background = [
            self._image(root, "bg-1.png", 70, 40, groups=["dataset"]),
            self._image(root, "bg-2.jpg", 60, 90, groups=["dataset"]),
        ]
        self.video = AssetFixture(root / f"{tag}-clip.mp4", "video/mp4", ["main"])
        write_mp4(self.video.path, 64, 48, 5)
        volume = nifti_bytes((8, 6, 4))
        self.nifti = AssetFixture(root / f"{tag}-scan.nii", "application/x-nifti", ["main"])
        self.nifti.path.write_bytes(volume)
        self.nifti_bytes = AssetFixture(
            self.bytes_dir / f"{tag}-scan-bytes.nii", "application/x-nifti", ["main"]
        )
        self.nifti_bytes.path.write_bytes(volume)
        self.dicom = root / f"{tag}-probe.dcm"
        self.dicom.write_bytes(dicom_probe_bytes())
        self.ndjson = root / f"{tag}-dataset.ndjson"

    def _image(
        self,
        directory: Path,
        name: str,
        width: int,
        height: int,
        *,
        groups: list[str] | None = None,
    ) -> AssetFixture:
        """Write a PNG or JPEG (by the name's extension) of the given size into ``directory``."""
        path = directory / f"{self.tag}-{name}"
        seed = sum(name.encode()) % 251
        if name.endswith(".png"):
            path.write_bytes(png_bytes(width, height, seed))
            mime = "image/png"
        else:
            path.write_bytes(jpeg_bytes(width, height, seed))
            mime = "image/jpeg"
        return AssetFixture(path, mime, groups or ["main"], width, height)

    def all_assets(self) -> list[AssetFixture]:
        """Every asset fixture the upload steps send."""
        return [
            self.single,
            *self.folder_images,
            self.bytes_image,
            self.video,
            self.nifti,
            self.nifti_bytes,
            *self.background,
        ]

    def annotation_file(self, name: str, content: bytes, *, in_folder: bool = False) -> Path:
        """Write an annotation file (optionally inside the annotation folder).

        ``name`` may contain a sub-directory, which is created.
        """
        directory = self.annotation_folder if in_folder else self.root
        path = directory / Path(name).parent / f"{self.tag}-{Path(name).name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    def dataset_file(self, urls: list[str]) -> Path:
        """Write the NDJSON dataset: one ``{"kind": "Image", "url": ...}`` line per URL."""
        lines = [json.dumps({"kind": "Image", "url": url}) for url in urls]
        self.ndjson.write_text("\n".join(lines) + "\n")
        return self.ndjson


# --------------------------------------------------------------------------------------------
# The official client
# --------------------------------------------------------------------------------------------


@dataclass
class OfficialSdk:
    """The imported official modules."""

    nexus: ModuleType
    error: ModuleType


def require_loopback(base_url: str) -> None:
    """Refuse any base URL that is not on the loopback interface."""
    host = urlsplit(base_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to run the tour against a non-loopback host: {base_url!r}")


def import_official_sdk(base_url: str) -> OfficialSdk:
    """Import ``datature.nexus`` with DATATURE_API_BASE_URL set first (it is read at import).

    Also proves that the client's default endpoint really is the emulator, so that no call of
    the tour can reach the real API.
    """
    if "datature.nexus" in sys.modules:
        raise SystemExit("datature.nexus was imported before DATATURE_API_BASE_URL was set")
    os.environ["DATATURE_API_BASE_URL"] = base_url
    nexus = importlib.import_module("datature.nexus")
    error = importlib.import_module("datature.nexus.error")
    endpoint = inspect.signature(nexus.Client.__init__).parameters["endpoint"].default
    if endpoint != base_url:
        raise SystemExit(f"datature.nexus.Client endpoint is {endpoint!r}, not {base_url!r}")
    if nexus.__version__ != OFFICIAL_SDK_VERSION:
        raise SystemExit(f"expected datature {OFFICIAL_SDK_VERSION}, found {nexus.__version__}")
    return OfficialSdk(nexus, error)


# --------------------------------------------------------------------------------------------
# The tour
# --------------------------------------------------------------------------------------------


@dataclass
class TourConfig:
    """What the tour needs to know about the emulator."""

    base_url: str
    secret_key: str
    project_id: str
    workspace_id: str | None = None
    step_timeout: float = STEP_TIMEOUT_SECONDS
    list_steps: bool = False


@dataclass
class TourState:
    """Values produced by earlier steps and consumed by later ones."""

    asset_ids: dict[str, str] = field(default_factory=dict)
    expected_boxes: list[Box] = field(default_factory=list)
    upload_session: Any = None
    op_ids: list[str] = field(default_factory=list)
    annotation_id: str | None = None
    export_op_ids: list[str] = field(default_factory=list)
    dataset_ids: list[str] = field(default_factory=list)
    dataset_items: int = 0
    flow_id: str | None = None


def page_ids(page: Any) -> list[str]:
    """Ids of the items of one page."""
    return [item.id for item in page["data"]]


class Tour:
    """Every example call of the seed docs, as named steps against one project."""

    def __init__(self, config: TourConfig, sdk: OfficialSdk, fixtures: Fixtures) -> None:
        self.config = config
        self.sdk = sdk
        self.fx = fixtures
        self.state = TourState()
        # As in every seed-docs example: Client(SECRET_KEY), endpoint from the environment.
        self.client = sdk.nexus.Client(config.secret_key)
        self.project = self.client.get_project(config.project_id)
        self.work_dir = fixtures.root / "work"
        self.work_dir.mkdir()

    # ---- helpers ------------------------------------------------------------------------

    def expect_not_found(self, call: Callable[[], object], what: str) -> None:
        """Check that ``call`` raises the official client's NotFoundError."""
        try:
            call()
        except self.sdk.error.NotFoundError:
            return
        raise CheckFailedError(f"{what} still exists (expected NotFoundError)")

    def expect_unsupported(self, call: Callable[[], object], reason: str) -> None:
        """Make a documented call that 1.12.2 cannot make; skip with the client's own error."""
        try:
            call()
        except (TypeError, ValueError, self.sdk.error.Error) as exc:
            error = describe_error(exc)
            error = error if len(error) <= 160 else error[:157] + "..."
            raise StepSkippedError(f"{UNSUPPORTED}: {reason} ({error})") from exc
        raise CheckFailedError(f"datature {OFFICIAL_SDK_VERSION} accepted it: {reason} is wrong")

    def verify_asset(self, fixture: AssetFixture) -> Any:
        """Fetch the asset by filename and check name, size, MIME type, groups (and dims)."""
        asset = self.project.assets.get(fixture.filename)
        metadata = asset.metadata
        check(asset.filename == fixture.filename, f"filename {asset.filename!r}")
        check(asset.project_id == self.config.project_id, f"project_id {asset.project_id!r}")
        check(
            metadata.file_size == fixture.size,
            f"{fixture.filename}: file_size {metadata.file_size} != {fixture.size}",
        )
        check(
            metadata.mime_type == fixture.mime,
            f"{fixture.filename}: mime_type {metadata.mime_type!r} != {fixture.mime!r}",
        )
        check(
            set(fixture.groups) <= set(metadata.groups),
            f"{fixture.filename}: groups {metadata.groups} lack {fixture.groups}",
        )
        if fixture.width:
            check(
                (metadata.width, metadata.height) == (fixture.width, fixture.height),
                f"{fixture.filename}: {metadata.width}x{metadata.height} reported, "
                f"{fixture.width}x{fixture.height} uploaded",
            )
        self.state.asset_ids[fixture.filename] = asset.id
        return asset

    def upload(
        self,
        fixtures: list[AssetFixture],
        add: Callable[[Any], None],
        *,
        groups: list[str] | None = None,
        background: bool = False,
    ) -> Any:
        """One documented upload session: ``with create_upload_session(...) as session: add``.

        The official client swallows per-file upload failures (weakness #1), so every fixture
        is then looked up and checked.
        """
        upload_session = self.project.assets.create_upload_session(
            groups=groups or ["main"], background=background
        )
        with upload_session as session:
            add(session)
        if not background:
            for fixture in fixtures:
                self.verify_asset(fixture)
        return upload_session

    def all_annotations(self) -> list[Any]:
        """Every annotation of the project, following next_page cursors."""
        annotations: list[Any] = []
        page = self.project.annotations.list({"limit": 100})
        annotations += page["data"]
        while page["next_page"]:
            page = self.project.annotations.list({"limit": 100, "page": page["next_page"]})
            annotations += page["data"]
        return annotations

    def boxes_of(self, annotations: list[Any]) -> list[Box]:
        """Rectangle annotations as Boxes (filenames resolved through the asset ids)."""
        names = {asset_id: name for name, asset_id in self.state.asset_ids.items()}
        boxes = []
        for annotation in annotations:
            if annotation.bound_type != "Rectangle":
                continue
            xs = [point[0] for point in annotation.bound]
            ys = [point[1] for point in annotation.bound]
            filename = names.get(annotation.asset_id, annotation.asset_id)
            boxes.append(Box(filename, annotation.tag, min(xs), min(ys), max(xs), max(ys)))
        return boxes

    def verify_imported(self, expected: list[Box]) -> None:
        """Check that each expected box is now an annotation of its asset."""
        for box in expected:
            asset_id = self.state.asset_ids[box.filename]
            page = self.project.annotations.list(filters={"asset_ids": [asset_id]})
            found = self.boxes_of(page["data"])
            check(
                any(box.matches(other) for other in found),
                f"imported {box} not found among {found}",
            )
        self.state.expected_boxes += expected

    def import_annotations(self, add: Callable[[Any], None], *, background: bool = False) -> Any:
        """One documented import session: ``with create_import_session(...) as session: add``."""
        import_session = self.project.annotations.create_import_session(background=background)
        with import_session as session:
            add(session)
        return import_session

    # ---- 01 workspace ---------------------------------------------------------------------

    def workspace_get_info(self) -> None:
        """client.get_info(): the workspace of the key (id matches the emulator's)."""
        workspace = self.client.get_info()
        check(workspace.id.startswith("ws_"), f"workspace id {workspace.id!r}")
        if self.config.workspace_id:
            check(workspace.id == self.config.workspace_id, f"workspace id {workspace.id!r}")
        check(workspace.name and workspace.owner and workspace.tier, f"{workspace}")

    def workspace_list_projects(self) -> None:
        """client.list_projects(), then project.get_info() on each (the docs' loop)."""
        projects = self.client.list_projects()
        check(projects, "no projects listed")
        infos = [project.get_info() for project in projects]  # the docs' loop
        ids = [info.id for info in infos]
        check(self.config.project_id in ids, f"{self.config.project_id} not in {ids}")

    def workspace_get_project(self) -> None:
        """client.get_project() with the full id and with the bare key (proj_ added)."""
        info = self.client.get_project(self.config.project_id).get_info()
        check(info.id == self.config.project_id, f"project id {info.id!r}")
        check(info.statistic is not None, "project has no statistic")
        bare_key = self.config.project_id.removeprefix("proj_")
        check(self.client.get_project(bare_key).get_info().id == info.id, "proj_ prefixing")

    def project_update(self) -> None:
        """project.update({'name': ...}): the new name is returned and stored."""
        original = self.project.get_info().name
        new_name = f"Interop tour {self.fx.tag}"
        updated = self.project.update({"name": new_name})
        check(updated.name == new_name, f"update returned name {updated.name!r}")
        check(self.project.get_info().name == new_name, "get_info does not show the new name")
        self.project.update({"name": original})

    # ---- 02 assets: uploads ---------------------------------------------------------------

    def upload_add_path_file(self) -> None:
        """Upload session with add_path(one image file)."""
        self.upload([self.fx.single], lambda s: s.add_path(str(self.fx.single.path)))

    def upload_add_path_folder(self) -> None:
        """Upload session with add_path(a folder of PNG and JPEG images)."""
        self.upload(self.fx.folder_images, lambda s: s.add_path(str(self.fx.folder)))

    def upload_add_bytes(self) -> None:
        """Upload session with add_bytes(PNG bytes, filename)."""
        data = self.fx.bytes_image.path.read_bytes()
        self.upload(
            [self.fx.bytes_image], lambda s: s.add_bytes(data, self.fx.bytes_image.filename)
        )

    def upload_add_path_video(self) -> None:
        """Upload session with add_path(an .mp4 video)."""
        self.upload([self.fx.video], lambda s: s.add_path(str(self.fx.video.path)))

    def upload_add_path_nifti(self) -> None:
        """Upload session with add_path(a NIfTI .nii volume)."""
        self.upload([self.fx.nifti], lambda s: s.add_path(str(self.fx.nifti.path)))

    def upload_add_bytes_nifti(self) -> None:
        """Upload session with add_bytes(NIfTI bytes, 'x.nii') (the docs' add_bytes example)."""
        data = self.fx.nifti_bytes.path.read_bytes()
        self.upload(
            [self.fx.nifti_bytes], lambda s: s.add_bytes(data, self.fx.nifti_bytes.filename)
        )

    def upload_custom_metadata_path(self) -> None:
        """add_path(..., custom_metadata=...): not a parameter in 1.12.2."""
        session = self.project.assets.create_upload_session(groups=["main"])
        self.expect_unsupported(
            lambda: session.add_path(str(self.fx.single.path), custom_metadata={"k": "v"}),
            "UploadSession.add_path() has no custom_metadata parameter",
        )

    def upload_custom_metadata_bytes(self) -> None:
        """add_bytes(..., custom_metadata=...): not a parameter in 1.12.2."""
        session = self.project.assets.create_upload_session(groups=["main"])
        data = self.fx.single.path.read_bytes()
        self.expect_unsupported(
            lambda: session.add_bytes(data, "metadata.png", custom_metadata={"k": "v"}),
            "UploadSession.add_bytes() has no custom_metadata parameter",
        )

    def upload_nifti_orientation(self) -> None:
        """add_path(..., nifti_orientation='x'): not a parameter in 1.12.2."""
        session = self.project.assets.create_upload_session(groups=["main"])
        self.expect_unsupported(
            lambda: session.add_path(str(self.fx.nifti.path), nifti_orientation="x"),
            "UploadSession.add_path() has no nifti_orientation parameter",
        )

    def upload_dicom(self) -> None:
        """add_path(a .dcm file): rejected client-side by 1.12.2."""
        session = self.project.assets.create_upload_session(groups=["main"])
        self.expect_unsupported(
            lambda: session.add_path(str(self.fx.dicom)),
            ".dcm maps to no supported MIME type, add_path() rejects it client-side",
        )

    def upload_background(self) -> None:
        """Upload session with background=True (uploads, does not wait)."""

        def add(session: Any) -> None:
            """Add each background image by path."""
            for fixture in self.fx.background:
                session.add_path(str(fixture.path))

        self.state.upload_session = self.upload(
            self.fx.background, add, groups=["dataset"], background=True
        )

    def upload_get_operation_ids(self) -> None:
        """upload_session.get_operation_ids() after a background upload."""
        op_ids = self.state.upload_session.get_operation_ids()
        check(op_ids and all(op_id.startswith("op_") for op_id in op_ids), f"op ids {op_ids}")
        self.state.op_ids = list(op_ids)

    def operations_get(self) -> None:
        """project.operations.get(op_id) for each upload operation."""
        check(self.state.op_ids, "no operation ids from the background upload")
        for op_id in self.state.op_ids:
            operation = self.project.operations.get(op_id)
            check(operation.id == op_id, f"operation id {operation.id!r}")
            progress = operation.status.progress.with_status
            check(
                progress.Queued + progress.Running + progress.Finished >= 1,
                f"progress counters {progress}",
            )

    def operations_wait_until_done(self) -> None:
        """project.operations.wait_until_done(op_id) reaches Finished."""
        check(self.state.op_ids, "no operation ids from the background upload")
        for op_id in self.state.op_ids:
            operation = self.project.operations.wait_until_done(op_id)
            check(operation.status.overview == "Finished", f"{op_id}: {operation.status}")

    def upload_wait_until_done(self) -> None:
        """upload_session.wait_until_done(), then the background assets are checked."""
        self.state.upload_session.wait_until_done()
        for fixture in self.fx.background:
            self.verify_asset(fixture)

    # ---- 02 assets: reads and updates -----------------------------------------------------

    def uploaded_fixtures(self) -> list[AssetFixture]:
        """The asset fixtures an upload step verified (so one failed upload fails one step)."""
        return [
            fixture for fixture in self.fx.all_assets() if fixture.filename in self.state.asset_ids
        ]

    def assets_get_by_id(self) -> None:
        """assets.get(asset_id)."""
        asset_id = self.state.asset_ids[self.fx.single.filename]
        asset = self.project.assets.get(asset_id)
        check(asset.id == asset_id, f"asset id {asset.id!r}")
        check(asset.filename == self.fx.single.filename, f"filename {asset.filename!r}")

    def assets_get_by_filename(self) -> None:
        """assets.get(filename) for every uploaded asset, with all its checks."""
        for fixture in self.uploaded_fixtures():
            self.verify_asset(fixture)

    def assets_download_url(self) -> None:
        """The docs' download example: fetch assets.get(filename)['url']."""
        url = self.project.assets.get(self.fx.single.filename)["url"]
        check(url, "asset url is empty, the documented download example cannot work")
        require_loopback(url)
        with urllib.request.urlopen(url, timeout=30) as response:
            data = response.read()
        check(data == self.fx.single.path.read_bytes(), "downloaded bytes differ from upload")

    def assets_update_status(self) -> None:
        """assets.update(id, {'status': 'Annotated'}): returned and stored."""
        asset_id = self.state.asset_ids[self.fx.single.filename]
        updated = self.project.assets.update(asset_id, {"status": "Annotated"})
        check(updated.status == "Annotated", f"update returned status {updated.status!r}")
        check(self.project.assets.get(asset_id).status == "Annotated", "status not stored")

    def assets_update_custom_metadata(self) -> None:
        """assets.update(id, {'custom_metadata': ...}): rejected by 1.12.2."""
        asset_id = self.state.asset_ids[self.fx.single.filename]
        self.expect_unsupported(
            lambda: self.project.assets.update(
                asset_id, {"custom_metadata": {"capturedAt": 1698402314, "latitude": 1.27}}
            ),
            "assets.update() rejects custom_metadata",
        )

    def assets_list_default(self) -> None:
        """assets.list(): every upload listed with its size."""
        page = self.project.assets.list()
        listed = {asset.filename: asset for asset in page["data"]}
        for fixture in self.uploaded_fixtures():
            check(fixture.filename in listed, f"{fixture.filename} not listed")
            size = listed[fixture.filename].metadata.file_size
            check(size == fixture.size, f"{fixture.filename}: listed size {size}")

    def assets_list_pages(self) -> None:
        """assets.list({'limit': 2}) pages: next_page, prev_page, and a full walk."""
        first = self.project.assets.list({"limit": 2})
        check(len(first["data"]) == 2, f"first page has {len(first['data'])} items")
        next_page = first["next_page"]
        check(next_page, "first page of 2 has no next_page")
        check(not first["prev_page"], "first page has a prev_page")
        second = self.project.assets.list({"page": next_page, "limit": 2})
        check(second["data"], "second page is empty")
        check(not set(page_ids(first)) & set(page_ids(second)), "pages overlap")
        prev_page = second["prev_page"]
        check(prev_page, "second page has no prev_page")
        back = self.project.assets.list({"page": prev_page, "limit": 2})
        check(page_ids(back) == page_ids(first), "prev_page does not lead back to page one")
        # Walk every page of 2 and compare with the default (single page) listing.
        walked = page_ids(first)
        page = first
        while page["next_page"]:
            page = self.project.assets.list({"limit": 2, "page": page["next_page"]})
            walked += page_ids(page)
        everything = page_ids(self.project.assets.list())
        check(len(walked) == len(set(walked)), "walking the pages repeats assets")
        check(set(walked) == set(everything), "walking the pages misses assets")

    def assets_list_filters(self) -> None:
        """assets.list(filters=...) by status, groups, filename and status+groups."""
        annotated = self.project.assets.list(filters={"status": "Annotated"})["data"]
        check(
            [asset.filename for asset in annotated] == [self.fx.single.filename],
            f"status=Annotated lists {[asset.filename for asset in annotated]}",
        )
        grouped = self.project.assets.list(filters={"groups": ["dataset"]})["data"]
        check(
            sorted(asset.filename for asset in grouped)
            == sorted(fixture.filename for fixture in self.fx.background),
            f"groups=['dataset'] lists {[asset.filename for asset in grouped]}",
        )
        name = self.fx.folder_images[1].filename
        by_name = self.project.assets.list(filters={"filename": name})["data"]
        check([asset.filename for asset in by_name] == [name], f"filename filter: {by_name}")
        combined = self.project.assets.list(
            {"limit": 2}, filters={"status": "Annotated", "groups": ["main"]}
        )["data"]
        check(
            [asset.filename for asset in combined] == [self.fx.single.filename],
            f"status+groups filter lists {[asset.filename for asset in combined]}",
        )

    def assets_list_groups_all(self) -> None:
        """assets.list_groups(): the statistics of every group."""
        groups = {group.group: group.statistic for group in self.project.assets.list_groups()}
        check({"main", "dataset"} <= set(groups), f"groups {sorted(groups)}")
        check(groups["dataset"].total_assets == 2, f"dataset group: {groups['dataset']}")
        main_count = sum("main" in fixture.groups for fixture in self.uploaded_fixtures())
        check(groups["main"].total_assets >= main_count, f"main group: {groups['main']}")
        check(groups["main"].annotated_assets >= 1, f"main group: {groups['main']}")

    def assets_list_groups_named(self) -> None:
        """assets.list_groups(['dataset', 'main'])."""
        groups = self.project.assets.list_groups(["dataset", "main"])
        check(
            sorted(group.group for group in groups) == ["dataset", "main"],
            f"named groups {[group.group for group in groups]}",
        )

    def assets_delete(self) -> None:
        """assets.delete(id): gone by id and filename, and its annotations with it."""
        asset_id = self.state.asset_ids[self.fx.bytes_image.filename]
        if not self.project.annotations.list(filters={"asset_ids": [asset_id]})["data"]:
            box = box_from_pixels(self.fx.bytes_image, "cat", (1, 1, 20, 20))
            self.project.annotations.create(
                {
                    "bound_type": "Rectangle",
                    "bound": box.bound(),
                    "asset_id": asset_id,
                    "tag": "cat",
                }
            )
        response = self.project.assets.delete(asset_id)
        check(response.deleted is True, f"delete response {response}")
        check(response.id in (None, asset_id), f"delete response id {response.id!r}")
        self.expect_not_found(lambda: self.project.assets.get(asset_id), "deleted asset")
        self.expect_not_found(
            lambda: self.project.assets.get(self.fx.bytes_image.filename), "deleted asset"
        )
        remaining = [
            annotation for annotation in self.all_annotations() if annotation.asset_id == asset_id
        ]
        check(not remaining, f"annotations of the deleted asset remain: {remaining}")
        self.state.expected_boxes = [
            box for box in self.state.expected_boxes if box.filename != self.fx.bytes_image.filename
        ]

    # ---- 03 annotations -------------------------------------------------------------------

    def annotations_create(self) -> None:
        """annotations.create({... Rectangle ...}) on an asset fetched by filename."""
        asset = self.project.assets.get(self.fx.single.filename)  # "get asset by filename"
        box = box_from_pixels(self.fx.single, "boat", (10, 8, 40, 30))
        created = self.project.annotations.create(
            {"bound_type": "Rectangle", "bound": box.bound(), "asset_id": asset.id, "tag": "boat"}
        )
        check(created.id.startswith("annot_"), f"annotation id {created.id!r}")
        check(created.asset_id == asset.id and created.tag == "boat", f"{created}")
        check(created.bound_type == "Rectangle", f"bound_type {created.bound_type!r}")
        check(self.boxes_of([created])[0].matches(box), f"bound {created.bound}")
        self.state.annotation_id = created.id
        self.state.expected_boxes.append(box)

    def annotations_get(self) -> None:
        """annotations.get(id, include_attributes=True)."""
        annotation_id = self.state.annotation_id
        check(annotation_id, "no annotation was created")
        annotation = self.project.annotations.get(annotation_id, include_attributes=True)
        check(annotation.id == annotation_id, f"annotation id {annotation.id!r}")
        check(annotation.tag == "boat", f"tag {annotation.tag!r}")

    def annotations_list(self) -> None:
        """annotations.list(pagination, filters, include_attributes) and a page cursor."""
        asset_id = self.state.asset_ids[self.fx.single.filename]
        page = self.project.annotations.list(
            pagination={"limit": 500},
            filters={"asset_ids": [asset_id]},
            include_attributes=True,
        )
        check(self.state.annotation_id in page_ids(page), "created annotation not listed")
        check(all(item.asset_id == asset_id for item in page["data"]), "asset filter ignored")
        # The docs' pagination example passes a page cursor: follow one with limit 1.
        create = self.project.annotations.create
        other = create(
            {
                "bound_type": "Rectangle",
                "bound": box_from_pixels(self.fx.single, "boat", (2, 2, 6, 6)).bound(),
                "asset_id": asset_id,
                "tag": "boat",
            }
        )
        first = self.project.annotations.list({"limit": 1}, filters={"asset_ids": [asset_id]})
        check(first["next_page"], "a page of 1 out of 2 annotations has no next_page")
        second = self.project.annotations.list(
            {"limit": 1, "page": first["next_page"]}, filters={"asset_ids": [asset_id]}
        )
        both = page_ids(first) + page_ids(second)
        check(sorted(both) == sorted([self.state.annotation_id, other.id]), f"pages {both}")
        self.project.annotations.delete(other.id)

    def annotations_list_by_filename(self) -> None:
        """annotations.list(filters={'asset_ids': [assets.get(name).id]})."""
        asset = self.project.assets.get(self.fx.single.filename)
        page = self.project.annotations.list(filters={"asset_ids": [asset.id]})
        check(self.state.annotation_id in page_ids(page), "created annotation not listed")

    def annotations_delete(self) -> None:
        """The docs' example: delete the first 'dog' annotation of an asset."""
        asset = self.project.assets.get(self.fx.folder_images[0].filename)
        box = box_from_pixels(self.fx.folder_images[0], "dog", (5, 5, 20, 20))
        self.project.annotations.create(
            {"bound_type": "Rectangle", "bound": box.bound(), "asset_id": asset.id, "tag": "dog"}
        )
        # The docs' "delete the first annotation with the dog tag" example.
        listed = self.project.annotations.list(filters={"asset_ids": [asset.id]})["data"]
        annotation_id = next(annotation for annotation in listed if annotation.tag == "dog").id
        response = self.project.annotations.delete(annotation_id)
        check(response.deleted is True, f"delete response {response}")
        self.expect_not_found(
            lambda: self.project.annotations.get(annotation_id), "deleted annotation"
        )
        remaining = self.project.annotations.list(filters={"asset_ids": [asset.id]})["data"]
        check(annotation_id not in [item.id for item in remaining], "deleted annotation listed")

    def import_add_path_file(self) -> None:
        """Import session with add_path(a CSV four-corner file)."""
        boxes = [
            box_from_pixels(self.fx.single, "boat", (30, 20, 60, 45)),
            box_from_pixels(self.fx.folder_images[0], "boat", (12, 10, 80, 50)),
        ]
        path = self.fx.annotation_file("import.csv", self.csv_for(boxes))
        self.import_annotations(lambda s: s.add_path(str(path)))
        self.verify_imported(boxes)

    def import_add_path_folder(self) -> None:
        """Import session with add_path(a folder of CSV files)."""
        boxes_a = [box_from_pixels(self.fx.folder_images[1], "dog", (0, 0, 25, 30))]
        boxes_b = [box_from_pixels(self.fx.folder_images[2], "cat", (40, 10, 79, 59))]
        self.fx.annotation_file("import-a.csv", self.csv_for(boxes_a), in_folder=True)
        self.fx.annotation_file("import-b.csv", self.csv_for(boxes_b), in_folder=True)
        self.import_annotations(lambda s: s.add_path(str(self.fx.annotation_folder)))
        self.verify_imported(boxes_a + boxes_b)

    def import_add_bytes_background(self) -> None:
        """Background import session with add_bytes, wait_until_done, get_logs."""
        boxes = [
            box_from_pixels(self.fx.background[0], "boat", (5, 5, 65, 35)),
            box_from_pixels(self.fx.bytes_image, "cat", (1, 1, 39, 29)),
        ]
        name = f"{self.fx.tag}-import-bytes.csv"
        session = self.import_annotations(
            lambda s: s.add_bytes(self.csv_for(boxes), name), background=True
        )
        check(session.wait_until_done() is True, "wait_until_done did not report success")
        logs = session.get_logs()
        errors = [log for log in logs.logs if log.level.lower() == "error"]
        check(not errors, f"import logs report errors: {errors}")
        self.verify_imported(boxes)

    def import_all_three_background(self) -> None:
        """The docs' first import example: one background session, all three add functions."""
        on = self.fx
        file_boxes = [box_from_pixels(on.single, "dog", (2, 3, 20, 25))]
        folder_boxes = [box_from_pixels(on.background[1], "cat", (10, 20, 50, 80))]
        bytes_boxes = [box_from_pixels(on.folder_images[2], "boat", (1, 2, 30, 40))]
        path = on.annotation_file("combined-file.csv", self.csv_for(file_boxes))
        on.annotation_file("combined/folder.csv", self.csv_for(folder_boxes), in_folder=True)
        folder = on.annotation_folder / "combined"

        def add(session: Any) -> None:
            """Function 1: a file path; function 2: a folder path; function 3: bytes."""
            session.add_path(str(path))
            session.add_path(str(folder))
            session.add_bytes(self.csv_for(bytes_boxes), f"{on.tag}-combined-bytes.csv")

        import_session = self.import_annotations(add, background=True)
        check(import_session.wait_until_done() is True, "wait_until_done did not succeed")
        self.verify_imported(file_boxes + folder_boxes + bytes_boxes)

    def import_get_logs_on_error(self) -> None:
        """The docs' get_logs example: an import of an out-of-bounds box fails."""
        width, height = self.fx.single.width, self.fx.single.height
        content = fourcorner_csv(
            [(self.fx.single.filename, (width + 50, 5, width + 90, height + 40), "boat")]
        )
        import_session = self.project.annotations.create_import_session()
        raised = None
        try:  # the docs' example: on failure, read the session's logs
            with import_session as session:
                session.add_bytes(content, f"{self.fx.tag}-out-of-bounds.csv")
        except Exception as exc:
            raised = exc
        logs = import_session.get_logs()
        check(logs.id == import_session.import_session_id, f"logs id {logs.id!r}")
        errors = [log for log in logs.logs if log.level.lower() == "error"]
        check(errors, f"no Error log for an out-of-bounds box (raised: {raised!r})")
        check(raised is not None, "an import with only invalid boxes did not fail")

    def csv_for(self, boxes: list[Box]) -> bytes:
        """A CSV four-corner file (pixel coordinates) for boxes on known fixtures."""
        by_name = {fixture.filename: fixture for fixture in self.fx.all_assets()}
        rows = []
        for box in boxes:
            asset = by_name[box.filename]
            corners = (
                round(box.xmin * asset.width),
                round(box.ymin * asset.height),
                round(box.xmax * asset.width),
                round(box.ymax * asset.height),
            )
            rows.append((box.filename, corners, box.tag))
        return fourcorner_csv(rows)

    def export_options(self) -> dict[str, Any]:
        """The seed docs' export request."""
        return {
            "format": "csv_fourcorner",
            "options": {"split_ratio": 0.5, "seed": 1337, "normalized": True},
        }

    def annotations_create_export(self) -> None:
        """annotations.create_export(csv_fourcorner, split 0.5) reaches Finished."""
        operation = self.project.annotations.create_export(self.export_options())
        check(operation.status.overview == "Finished", f"export operation {operation.status}")
        self.state.export_op_ids.append(operation.id)

    def annotations_create_export_background(self) -> None:
        """create_export(background=True), then operations.wait_until_done."""
        operation = self.project.annotations.create_export(self.export_options(), background=True)
        check(operation.id.startswith("op_"), f"operation id {operation.id!r}")
        done = self.project.operations.wait_until_done(operation.id)
        check(done.status.overview == "Finished", f"export operation {done.status}")
        self.state.export_op_ids.append(operation.id)

    def annotations_download_exported_file(self) -> None:
        """download_exported_file(op_id, path): every annotation is in the CSVs."""
        check(self.state.export_op_ids, "no export operation")
        expected = self.boxes_of(self.all_annotations())
        check(expected, "project has no rectangle annotations to export")
        for box in self.state.expected_boxes:
            check(any(box.matches(other) for other in expected), f"{box} missing in project")
        for index, op_id in enumerate(self.state.export_op_ids):
            target = self.work_dir / f"export-{index}"
            local = self.project.annotations.download_exported_file(op_id, str(target))
            check(local.file_names, "the export archive is empty")
            exported = []
            for name in local.file_names:
                path = Path(local.download_path) / name
                check(path.is_file(), f"{path} was not extracted")
                if name.endswith(".csv"):
                    exported += read_fourcorner(path)
            check(exported, f"no CSV rows in {local.file_names}")
            for box in expected:
                check(any(box.matches(row) for row in exported), f"{box} not exported")
            check(
                len(exported) == len(expected),
                f"{len(exported)} rows exported for {len(expected)} annotations",
            )

    # ---- 04 batch datasets ----------------------------------------------------------------

    def datasets_create(self) -> None:
        """batch.datasets.create(name, dataset_path) (three of them, for paging)."""
        urls = [f"{self.config.base_url}/_tour/item-{index}.png" for index in range(5)]
        path = self.fx.dataset_file(urls)
        for index in range(3):  # three datasets, so that a page of 2 has a next page
            dataset = self.project.batch.datasets.create(
                name=f"tour-{self.fx.tag}-{index}", dataset_path=str(path)
            )
            check(dataset.id.startswith("dataset_"), f"dataset id {dataset.id!r}")
            check(dataset.object == "dataset", f"object {dataset.object!r}")
            check(dataset.project_id == self.config.project_id, f"{dataset.project_id!r}")
            check(dataset.expiry_time > time.time() * 1000, "dataset already expired")
            self.state.dataset_ids.append(dataset.id)
        self.state.dataset_items = len(urls)

    def datasets_wait_until_done(self) -> None:
        """batch.datasets.wait_until_done(id): Uploaded, item_count = NDJSON lines."""
        check(self.state.dataset_ids, "no dataset was created")
        for dataset_id in self.state.dataset_ids:
            dataset = self.project.batch.datasets.wait_until_done(dataset_id)
            check(dataset.status.overview == "Uploaded", f"status {dataset.status.overview!r}")
            count = dataset.status.item_count
            check(count == self.state.dataset_items, f"item_count {count}")

    def datasets_get(self) -> None:
        """batch.datasets.get(id)."""
        dataset_id = self.state.dataset_ids[0]
        dataset = self.project.batch.datasets.get(dataset_id)
        check(dataset.id == dataset_id, f"dataset id {dataset.id!r}")
        check(dataset.name == f"tour-{self.fx.tag}-0", f"name {dataset.name!r}")
        check(dataset.status.item_count == self.state.dataset_items, f"{dataset.status}")

    def datasets_list(self) -> None:
        """batch.datasets.list(): every created dataset listed."""
        listed = page_ids(self.project.batch.datasets.list())
        check(set(self.state.dataset_ids) <= set(listed), f"listed {listed}")

    def datasets_list_positional(self) -> None:
        """The docs' batch.datasets.list({'limit': 2}): 1.12.2 ignores it."""
        # The docs pass pagination positionally; 1.12.2's first parameter is show_expired.
        page = self.project.batch.datasets.list({"limit": 2})
        if len(page["data"]) > 2 and not page["next_page"]:
            raise StepSkippedError(
                f"{UNSUPPORTED}: datasets.list(show_expired=False, pagination=None) takes "
                "show_expired first, so the documented list({'limit': 2, 'page': ...}) "
                f"silently ignores the pagination (got {len(page['data'])} items, no next_page)"
            )
        check(len(page["data"]) == 2 and page["next_page"], "page of 2 with a next_page")

    def datasets_list_pages(self) -> None:
        """batch.datasets.list(pagination=...) pages: next_page and prev_page."""
        datasets = self.project.batch.datasets
        first = datasets.list(pagination={"limit": 2})
        check(len(first["data"]) == 2 and first["next_page"], "page of 2 with a next_page")
        second = datasets.list(pagination={"page": first["next_page"], "limit": 2})
        check(second["data"] and second["prev_page"], "second page with a prev_page")
        check(not set(page_ids(first)) & set(page_ids(second)), "pages overlap")
        back = datasets.list(pagination={"page": second["prev_page"], "limit": 2})
        check(page_ids(back) == page_ids(first), "prev_page does not lead back to page one")

    def datasets_delete(self) -> None:
        """batch.datasets.delete(id): gone from get and list."""
        dataset_id = self.state.dataset_ids[0]
        response = self.project.batch.datasets.delete(dataset_id)
        check(response.deleted is True, f"delete response {response}")
        self.expect_not_found(
            lambda: self.project.batch.datasets.get(dataset_id), "deleted dataset"
        )
        check(dataset_id not in page_ids(self.project.batch.datasets.list()), "still listed")

    # ---- 05 workflows ---------------------------------------------------------------------

    def workflows_list(self) -> None:
        """workflows.list() (the emulator seeds two workflows)."""
        flows = self.project.workflows.list()
        check(flows, "the project has no workflows")
        check(all(flow.project_id == self.config.project_id for flow in flows), f"{flows}")
        self.state.flow_id = flows[0].id

    def workflows_find_by_title(self) -> None:
        """The docs' next(flow for flow in workflows.list() if title matches)."""
        title = self.project.workflows.get(self.state.flow_id).title
        workflow = next(
            (flow for flow in self.project.workflows.list() if flow.title == title), None
        )
        check(workflow is not None and workflow.title == title, f"no workflow titled {title!r}")

    def workflows_get(self) -> None:
        """workflows.get(flow_id)."""
        flow_id = self.state.flow_id
        check(flow_id, "no workflow listed")
        workflow = self.project.workflows.get(flow_id)
        check(workflow.id == flow_id and workflow.title, f"{workflow}")

    def workflows_update_dict(self) -> None:
        """workflows.update(flow_id, {'title': ...})."""
        self.update_title(lambda title: {"title": title}, "My awesome workflow")

    def workflows_update_flow_metadata(self) -> None:
        """workflows.update(flow_id, ApiTypes.FlowMetadata(title=...))."""
        flow_metadata = self.sdk.nexus.ApiTypes.FlowMetadata
        self.update_title(lambda title: flow_metadata(title=title), "My Awesome Workflow")

    def update_title(self, build: Callable[[str], Any], title: str) -> None:
        """Update the workflow title with the given request form and check it took."""
        flow_id = self.state.flow_id
        check(flow_id, "no workflow listed")
        updated = self.project.workflows.update(flow_id, build(title))
        check(updated.title == title, f"update returned title {updated.title!r}")
        check(self.project.workflows.get(flow_id).title == title, "title not stored")

    def workflows_update_by_title(self) -> None:
        """The docs' example: update the workflow found by its title."""
        flow_id = next(
            flow for flow in self.project.workflows.list() if flow.title == "My Awesome Workflow"
        )["id"]
        check(flow_id == self.state.flow_id, f"found {flow_id!r}")
        self.project.workflows.update(flow_id, {"title": "New Workflow Title"})
        check(self.project.workflows.get(flow_id).title == "New Workflow Title", "not stored")

    def workflows_delete(self) -> None:
        """workflows.delete() of the workflow found by title: gone from get and list."""
        flow_id = next(
            flow for flow in self.project.workflows.list() if flow.title == "New Workflow Title"
        )["id"]
        response = self.project.workflows.delete(flow_id)
        check(response.deleted is True, f"delete response {response}")
        self.expect_not_found(lambda: self.project.workflows.get(flow_id), "deleted workflow")
        check(flow_id not in [flow.id for flow in self.project.workflows.list()], "still listed")

    # ---- the emulator's own account ------------------------------------------------------

    def emulator_storage_stats(self) -> None:
        """Control plane: no CRC32C or size failures, no upload session left open."""
        # The official client ignores signed-URL upload failures (weaknesses #1 and #11), so
        # ask the emulator's control plane whether every stored byte passed its checks.
        url = f"{self.config.base_url}/_emulator/stats"
        with urllib.request.urlopen(url, timeout=30) as response:
            stats = json.load(response)
        storage = stats["storage"]
        check(storage["checksum_failures"] == 0, f"CRC32C failures: {storage}")
        check(storage["size_mismatches"] == 0, f"size mismatches: {storage}")
        uploaded = sum(fixture.size for fixture in self.fx.all_assets())
        check(storage["bytes_received"] >= uploaded, f"only {storage['bytes_received']} bytes")
        check(stats["open_upload_sessions"] == 0, f"{stats['open_upload_sessions']} open sessions")

    # ---- the ordered tour -----------------------------------------------------------------

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        """Every step, in order: (name, callable)."""
        return [
            ("workspace: client.get_info()", self.workspace_get_info),
            (
                "workspace: client.list_projects() + project.get_info()",
                self.workspace_list_projects,
            ),
            ("workspace: client.get_project(id / bare key)", self.workspace_get_project),
            ("workspace: project.update({'name': ...})", self.project_update),
            ("assets: upload_session add_path(file)", self.upload_add_path_file),
            ("assets: upload_session add_path(folder)", self.upload_add_path_folder),
            ("assets: upload_session add_bytes(png)", self.upload_add_bytes),
            ("assets: upload_session add_path(video .mp4)", self.upload_add_path_video),
            ("assets: upload_session add_path(NIfTI .nii)", self.upload_add_path_nifti),
            ("assets: upload_session add_bytes(NIfTI .nii)", self.upload_add_bytes_nifti),
            ("assets: add_path(custom_metadata=...)", self.upload_custom_metadata_path),
            ("assets: add_bytes(custom_metadata=...)", self.upload_custom_metadata_bytes),
            ("assets: add_path(nifti_orientation='x')", self.upload_nifti_orientation),
            ("assets: add_path(DICOM .dcm)", self.upload_dicom),
            ("assets: upload_session(background=True) add_path", self.upload_background),
            ("assets: upload_session.get_operation_ids()", self.upload_get_operation_ids),
            ("operations: get(op_id)", self.operations_get),
            ("operations: wait_until_done(op_id)", self.operations_wait_until_done),
            ("assets: upload_session.wait_until_done()", self.upload_wait_until_done),
            ("assets: get(asset_id)", self.assets_get_by_id),
            ("assets: get(filename) for every upload", self.assets_get_by_filename),
            ("assets: get(filename)['url'] download", self.assets_download_url),
            ("assets: update(id, {'status': 'Annotated'})", self.assets_update_status),
            ("assets: update(id, {'custom_metadata': ...})", self.assets_update_custom_metadata),
            ("assets: list()", self.assets_list_default),
            ("assets: list(limit=2) next_page / prev_page", self.assets_list_pages),
            ("assets: list(filters=status/groups/filename)", self.assets_list_filters),
            ("assets: list_groups()", self.assets_list_groups_all),
            ("assets: list_groups(['dataset', 'main'])", self.assets_list_groups_named),
            ("annotations: create(Rectangle)", self.annotations_create),
            ("annotations: get(id, include_attributes=True)", self.annotations_get),
            ("annotations: list(pagination, filters, include_attributes)", self.annotations_list),
            (
                "annotations: list(filters={'asset_ids': [by filename]})",
                self.annotations_list_by_filename,
            ),
            ("annotations: delete(first 'dog' annotation)", self.annotations_delete),
            ("annotations: import_session add_path(file)", self.import_add_path_file),
            ("annotations: import_session add_path(folder)", self.import_add_path_folder),
            (
                "annotations: import_session(background) add_bytes + wait + get_logs",
                self.import_add_bytes_background,
            ),
            (
                "annotations: import_session(background) add_path(file) + add_path(folder) "
                "+ add_bytes",
                self.import_all_three_background,
            ),
            (
                "annotations: import_session get_logs() after a failed import",
                self.import_get_logs_on_error,
            ),
            ("annotations: create_export(csv_fourcorner)", self.annotations_create_export),
            (
                "annotations: create_export(background=True) + wait",
                self.annotations_create_export_background,
            ),
            (
                "annotations: download_exported_file(op_id, path)",
                self.annotations_download_exported_file,
            ),
            ("assets: delete(id) (cascades to annotations)", self.assets_delete),
            ("datasets: create(name, dataset_path)", self.datasets_create),
            ("datasets: wait_until_done(id)", self.datasets_wait_until_done),
            ("datasets: get(id)", self.datasets_get),
            ("datasets: list()", self.datasets_list),
            ("datasets: list({'limit': 2}) (docs' positional form)", self.datasets_list_positional),
            (
                "datasets: list(pagination={'limit': 2}) next_page / prev_page",
                self.datasets_list_pages,
            ),
            ("datasets: delete(id)", self.datasets_delete),
            ("workflows: list()", self.workflows_list),
            ("workflows: list() find by title", self.workflows_find_by_title),
            ("workflows: get(flow_id)", self.workflows_get),
            ("workflows: update(flow_id, {'title': ...})", self.workflows_update_dict),
            (
                "workflows: update(flow_id, ApiTypes.FlowMetadata(...))",
                self.workflows_update_flow_metadata,
            ),
            ("workflows: update(flow found by title, {...})", self.workflows_update_by_title),
            ("workflows: delete(flow found by title)", self.workflows_delete),
            ("emulator: /_emulator/stats storage checks", self.emulator_storage_stats),
        ]


def read_fourcorner(path: Path) -> list[Box]:
    """Rows of an exported CSV four-corner file as Boxes."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [name.strip().lower() for name in reader.fieldnames or []]
        required = {"filename", "xmin", "ymin", "xmax", "ymax", "label"}
        check(required <= set(fields), f"{path.name} has columns {fields}")
        boxes = []
        for row in reader:
            clean = {key.strip().lower(): value for key, value in row.items() if key}
            boxes.append(
                Box(
                    Path(clean["filename"]).name,
                    clean["label"],
                    float(clean["xmin"]),
                    float(clean["ymin"]),
                    float(clean["xmax"]),
                    float(clean["ymax"]),
                )
            )
    return boxes


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> TourConfig:
    """Read the emulator coordinates from argv, falling back to the environment."""
    parser = argparse.ArgumentParser(
        description="Drive the official datature client through the seed docs' calls."
    )
    parser.add_argument("--base-url", default=os.environ.get("DATATURE_API_BASE_URL"))
    parser.add_argument("--secret-key", default=os.environ.get("NEXUS_SECRET_KEY"))
    parser.add_argument("--project-id", default=os.environ.get("NEXUS_PROJECT_ID"))
    parser.add_argument("--workspace-id", default=os.environ.get("NEXUS_WORKSPACE_ID"))
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=STEP_TIMEOUT_SECONDS,
        help=f"seconds one step may take before the tour stops (default {STEP_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument(
        "--list-steps",
        action="store_true",
        help="generate the fixtures, print the step names and exit (no network)",
    )
    args = parser.parse_args(argv)
    missing = [name for name in ("base_url", "secret_key", "project_id") if not getattr(args, name)]
    if missing:
        parser.error(f"missing: {', '.join(missing)} (argv or environment)")
    return TourConfig(
        args.base_url.rstrip("/"),
        args.secret_key,
        args.project_id,
        args.workspace_id,
        step_timeout=args.step_timeout,
        list_steps=args.list_steps,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the tour; return 1 if any step failed."""
    config = parse_args(argv)
    require_loopback(config.base_url)
    sdk = import_official_sdk(config.base_url)
    print(
        f"datature {sdk.nexus.__version__} -> {config.base_url} (project {config.project_id})",
        flush=True,
    )
    runner = StepRunner(config.step_timeout)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nexus-interop-") as tmp:
        tag = f"t{secrets.token_hex(3)}"
        fixtures = Fixtures(Path(tmp), tag)
        tour = Tour(config, sdk, fixtures)
        if config.list_steps:
            for name, _step in tour.steps():
                print(f"step {name}")
            for path in sorted(Path(tmp).rglob("*")):
                print(f"fixture {path.relative_to(tmp)} ({path.stat().st_size} bytes)")
            return 0
        runner.run_all(tour.steps())
    print(f"tour took {time.perf_counter() - started:.1f} s", flush=True)
    print(runner.summary(), flush=True)
    return 1 if runner.count("FAIL") else 0


if __name__ == "__main__":
    sys.exit(main())
