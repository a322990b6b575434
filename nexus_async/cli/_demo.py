"""``nexus-async demo`` (and ``nox -s demo``): the whole SDK against a local emulator.

Starts the emulator, writes a few hundred small PNG images and a CSV of boxes, bulk-uploads
the images, imports the boxes, exports them as CSV, downloads the export, and prints a summary.
"""

from __future__ import annotations

import csv
import io
import random
import struct
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from nexus_async import AsyncClient
from nexus_async.cli._commands import upload_summary
from nexus_async.cli._ui import (
    UploadBar,
    WaitSpinner,
    echo_json,
    fail,
    format_bytes,
    report,
    run,
    timed,
)
from nexus_async.types.params import AnnotationExportParams

__all__ = ["DemoSummary", "demo", "png_image", "run_demo", "write_samples"]

LABELS = ("boat", "car", "person")


def png_image(width: int, height: int, rng: random.Random) -> bytes:
    """A real RGB PNG of noise over a random colour, ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    base = bytes(rng.randrange(256) for _ in range(3))
    rows = b"".join(
        b"\x00" + bytes((base[i % 3] + rng.randrange(48)) % 256 for i in range(width * 3))
        for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


def write_samples(folder: Path, count: int, *, seed: int = 7) -> tuple[int, Path, int]:
    """``count`` PNG images under ``folder/images`` and ``folder/annotations.csv`` (one or two
    normalised boxes per image); returns (bytes of images, the CSV path, boxes)."""
    rng = random.Random(seed)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    total = 0
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["filename", "xmin", "ymin", "xmax", "ymax", "label"])
    boxes = 0
    for index in range(count):
        name = f"sample-{index:04d}.png"
        data = png_image(rng.randrange(32, 97), rng.randrange(32, 97), rng)
        (images / name).write_bytes(data)
        total += len(data)
        for _ in range(rng.randrange(1, 3)):
            x0, y0 = rng.uniform(0.0, 0.6), rng.uniform(0.0, 0.6)
            x1, y1 = x0 + rng.uniform(0.1, 0.39), y0 + rng.uniform(0.1, 0.39)
            writer.writerow(
                [name, f"{x0:.4f}", f"{y0:.4f}", f"{x1:.4f}", f"{y1:.4f}", rng.choice(LABELS)]
            )
            boxes += 1
    annotations = folder / "annotations.csv"
    annotations.write_text(text.getvalue(), encoding="utf-8")
    return total, annotations, boxes


@dataclass
class DemoSummary:
    """What the demo did and how long each step took (seconds)."""

    files: int = 0
    bytes: int = 0
    upload_seconds: float = 0.0
    annotations_imported: int = 0
    import_seconds: float = 0.0
    exported_files: list[str] = field(default_factory=list)
    exported_rows: int = 0
    export_seconds: float = 0.0
    total_seconds: float = 0.0

    def lines(self) -> list[str]:
        """The summary as printed."""
        rate = self.bytes / self.upload_seconds if self.upload_seconds else 0.0
        files_rate = self.files / self.upload_seconds if self.upload_seconds else 0.0
        return [
            "Summary",
            f"  files        {self.files} images uploaded",
            f"  bytes        {format_bytes(self.bytes)}",
            f"  throughput   {files_rate:.0f} files/s, {format_bytes(rate)}/s "
            f"(upload and ingestion, {self.upload_seconds:.2f} s)",
            f"  annotations  {self.annotations_imported} imported in {self.import_seconds:.2f} s, "
            f"{self.exported_rows} exported in {self.export_seconds:.2f} s "
            f"({', '.join(self.exported_files)})",
            f"  time         {self.total_seconds:.1f} s in total",
        ]


async def run_demo(
    client: AsyncClient,
    project_id: str,
    workdir: Path,
    files: int,
    *,
    live: bool | None = None,
    temporary: bool = False,
    say: Callable[[str], None] = typer.echo,
) -> DemoSummary:
    """Generate, upload, import, export and download in ``workdir``; return the summary.

    ``temporary``: ``workdir`` is removed afterwards, so its path is not printed. ``say``
    prints each step.
    """
    start = time.perf_counter()
    summary = DemoSummary()
    size, annotations, boxes = write_samples(workdir, files)
    where = "a temporary folder (kept with --workdir DIR)" if temporary else str(workdir)
    say(f"Generated {files} PNG images ({format_bytes(size)}) and {boxes} boxes in {where}")
    project = client.get_project(project_id)

    with UploadBar("uploading", live=live) as bar, timed() as upload_time:
        upload = project.assets.create_upload_session(groups=["demo"], progress=bar)
        bar.attach(upload)
        async with upload:
            await upload.add_path(workdir / "images")
    summary.files, summary.bytes = bar.last.files_done, bar.bytes_sent
    summary.upload_seconds = upload_time[0]
    say(upload_summary(bar, upload_time[0], skipped=False))

    with WaitSpinner("importing annotations", live=live), timed() as import_time:
        async with project.annotations.create_import_session() as session:
            await session.add_path(annotations)
    state = await session.get()
    summary.annotations_imported = state.status.annotations.with_status.Committed
    summary.import_seconds = import_time[0]
    say(f"Imported {summary.annotations_imported} annotations from {annotations.name}")

    with WaitSpinner("exporting", live=live) as spinner, timed() as export_time:
        metadata: AnnotationExportParams = {
            "format": "csv_fourcorner",
            "options": {"split_ratio": 0.2, "seed": 1337},
        }
        op = await project.annotations.create_export(metadata, background=True)
        await project.operations.wait_until_done(op.id, on_poll=spinner.on_poll)
        local = await project.annotations.download_exported_file(op.id, workdir / "export")
    summary.export_seconds = export_time[0]
    summary.exported_files = sorted(Path(name).name for name in local.file_names)
    for name in local.file_names:
        with (Path(local.download_path) / name).open(encoding="utf-8") as handle:
            summary.exported_rows += sum(1 for _ in csv.DictReader(handle))
    into = "" if temporary else f" into {local.download_path}"
    say(f"Exported and downloaded {len(local.file_names)} files{into}")
    summary.total_seconds = time.perf_counter() - start
    return summary


def demo(
    ctx: typer.Context,
    files: Annotated[
        int, typer.Option("--files", "-n", metavar="N", min=1, max=5000, help="Images to generate.")
    ] = 300,
    workdir: Annotated[
        Path | None,
        typer.Option(
            "--workdir",
            metavar="DIR",
            help="Keep the generated and exported files here (default: a temporary folder, "
            "removed at the end).",
        ),
    ] = None,
    json_output: Annotated[
        bool,
        typer.Option("--json", help="Print the summary as one JSON document on stdout."),
    ] = False,
) -> None:
    """Start a local emulator and run upload, import, export and download against it."""
    debug = bool(getattr(ctx.find_root().obj, "debug", False))
    try:
        from nexus_async.emulator import EmulatorServer
    except ImportError as exc:
        raise fail(
            f"the demo needs the emulator ({exc.name} is missing): "
            "pip install 'nexus-async[cli,emulator]'"
        ) from None

    def say(line: str) -> None:
        typer.echo(line, err=json_output)  # with --json, stdout holds the JSON document only

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nexus-demo-") as scratch:
        folder = workdir or Path(scratch)
        try:
            server = EmulatorServer(mode="subprocess").start()
        except Exception as exc:
            raise report(exc, debug=debug) from None
        try:
            say(f"Emulator running at {server.base_url} (project {server.project_id})")

            async def main() -> DemoSummary:
                async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
                    assert server.project_id is not None
                    return await run_demo(
                        client,
                        server.project_id,
                        folder,
                        files,
                        temporary=workdir is None,
                        say=say,
                    )

            summary = run(main(), debug=debug)
        finally:
            server.stop()
        summary.total_seconds = time.perf_counter() - start
        if json_output:
            echo_json(asdict(summary))
            return
        typer.echo("")
        for line in summary.lines():
            typer.echo(line)
