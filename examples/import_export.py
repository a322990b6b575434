"""Annotations in and out: upload images, import a CSV of boxes, export as COCO, download.

python examples/import_export.py [OUT_FOLDER]   # default: ./exported
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from _common import connect, png_image

BOXES = "filename,xmin,ymin,xmax,ymax,label\n" + "".join(
    f"ie-{i}.png,0.{i + 1},0.2,0.{i + 5},0.7,boat\n" for i in range(4)
)


async def main(out: Path) -> None:
    async with connect() as (_client, project):
        async with project.assets.create_upload_session(groups=["import-export"]) as upload:
            for i in range(4):
                await upload.add_bytes(png_image(seed=i), f"ie-{i}.png")

        # Import: leaving the block waits until the server has processed the files; a bad row
        # raises AnnotationImportError carrying the server's log lines.
        async with project.annotations.create_import_session() as session:
            await session.add_bytes(BOXES.encode(), "boxes.csv")
        state = await session.get()
        print(f"imported {state.status.annotations.with_status.Committed} annotations")

        # Export: waits until the export is Finished, then downloads and extracts the ZIP.
        op = await project.annotations.create_export(
            {"format": "coco", "options": {"split_ratio": 0.0, "seed": 1337}}
        )
        local = await project.annotations.download_exported_file(op.id, out)
        print(f"export {op.id} -> {local.download_path}: {local.file_names}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "exported")))
