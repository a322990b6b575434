"""Bulk upload: a folder of images, with progress, that resumes where it stopped on a re-run.

    python examples/bulk_upload.py [FOLDER]   # default: ./sample-images (200 images made)

`skip_existing=True` skips files the project already holds with the same name and size, so
re-running after an interruption sends only what is missing. On the local emulator (a fresh,
empty project each run) the upload is run twice to show it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from _common import connect, png_image

from nexus_async import Project
from nexus_async.uploads.asset_session import UploadProgress


def make_sample_folder(folder: Path, count: int = 200) -> None:
    """``count`` small PNG images in ``folder`` unless it exists (kept for the re-run)."""
    if folder.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"bulk-{i:04d}.png"
        if not path.exists():
            path.write_bytes(png_image(32 + i % 32, 32, seed=i))


def show(progress: UploadProgress) -> None:
    """Print a line every 50 files (use `nexus-async upload` for live progress bars)."""
    done = progress.files_done + progress.files_skipped
    if done % 50 == 0 or done == progress.files_total:
        size = f"{progress.bytes_done:,} of {progress.bytes_total:,} bytes"
        print(f"  {done}/{progress.files_total} files, {size}")


async def upload_folder(project: Project, folder: Path) -> UploadProgress:
    session = project.assets.create_upload_session(
        groups=["bulk"], max_concurrency=32, skip_existing=True, progress=show
    )
    async with session:
        await session.add_path(folder)  # every image and video below, recursively
    return session.progress


async def main(folder: Path) -> None:
    await asyncio.to_thread(make_sample_folder, folder)
    async with connect() as (_client, project):
        runs = 1 if os.environ.get("NEXUS_SECRET_KEY") else 2
        for run in range(runs):
            result = await upload_folder(project, folder)
            print(
                f"run {run + 1}: uploaded {result.files_done}, skipped {result.files_skipped} "
                f"already in {project.id}"
            )


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "sample-images")))
