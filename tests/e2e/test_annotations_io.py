"""Annotation imports, exports with download, and batch datasets end to end: real files, real
HTTP, the emulator's processing, archives and storage checks."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

import nexus_async
from nexus_async import Project
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes

# name -> (width, height)
IMAGES = {"cat.png": (200, 100), "dog.png": (400, 300), "boat.png": (50, 80)}
# Boxes in pixels: (filename, xmin, ymin, xmax, ymax, label)
CSV_BOXES = [
    ("cat.png", 20.0, 10.0, 120.0, 60.0, "cat"),
    ("dog.png", 40.0, 30.0, 200.0, 150.0, "dog"),
]
COCO_BOXES = [
    ("boat.png", 5.0, 8.0, 45.0, 72.0, "boat"),
    ("dog.png", 0.0, 0.0, 400.0, 300.0, "dog"),
]


def csv_text(rows: list[tuple[str, float, float, float, float, str]]) -> str:
    lines = ["filename,xmin,ymin,xmax,ymax,label"]
    lines += [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def coco_text(rows: list[tuple[str, float, float, float, float, str]]) -> str:
    names = sorted({row[0] for row in rows})
    labels = sorted({row[5] for row in rows})
    document = {
        "images": [
            {"id": i + 1, "file_name": n, "width": IMAGES[n][0], "height": IMAGES[n][1]}
            for i, n in enumerate(names)
        ],
        "categories": [{"id": i + 1, "name": label} for i, label in enumerate(labels)],
        "annotations": [
            {
                "id": k + 1,
                "image_id": names.index(f) + 1,
                "category_id": labels.index(label) + 1,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
            }
            for k, (f, x1, y1, x2, y2, label) in enumerate(rows)
        ],
    }
    return json.dumps(document)


async def upload_images(project: Project) -> None:
    async with project.assets.create_upload_session() as session:
        for name, (width, height) in IMAGES.items():
            await session.add_bytes(png_bytes(width, height), name)


def normalised(row: tuple[str, float, float, float, float, str]) -> tuple[object, ...]:
    name, x1, y1, x2, y2, label = row
    width, height = IMAGES[name]
    return (name, label, *(round(v, 6) for v in (x1 / width, y1 / height, x2 / width, y2 / height)))


def rounded(row: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(round(v, 6) if isinstance(v, float) else v for v in row)


async def test_import_csv_and_coco_list_export_both_formats_and_compare_boxes(
    tmp_path: Path, project: Project
) -> None:
    await upload_images(project)
    labels = tmp_path / "labels"
    (labels / "nested").mkdir(parents=True)
    (labels / "boxes.csv").write_text(csv_text(CSV_BOXES))
    (labels / "nested" / "coco.json").write_text(coco_text(COCO_BOXES))
    (labels / "notes.md").write_text("not an annotation file")  # skipped by the folder scan

    async with project.annotations.create_import_session() as session:
        await session.add_path(labels)
        assert len(session) == 2
    state = await session.get()
    assert state.status.overview == "Finished"
    assert state.status.annotations.with_status.Committed == 4
    assert (await session.get_logs()).logs == []
    listed = [s.id for s in await project.annotations.list_import_sessions()]
    assert session.id in listed
    assert (await project.annotations.get_import_session_logs(session.id or "")).logs == []

    expected = {normalised(row) for row in CSV_BOXES + COCO_BOXES}
    assets = {a.id: a.filename async for a in project.assets.iter()}
    found = set()
    async for annotation in project.annotations.iter():
        xs = [p[0] for p in annotation.bound]
        ys = [p[1] for p in annotation.bound]
        name = assets[annotation.asset_id]
        found.add(rounded((name, annotation.tag, min(xs), min(ys), max(xs), max(ys))))
    assert found == expected

    # CSV four-corner, normalised, 50 % validation split: train + validate together hold all.
    op = await project.annotations.create_export(
        {"format": "csv_fourcorner", "options": {"split_ratio": 0.5, "seed": 1337}}
    )
    assert op.status.overview == "Finished"
    local = await project.annotations.download_exported_file(op.id, tmp_path / "csv")
    key = project.id.removeprefix("proj_")
    assert sorted(local.file_names) == [f"{key}/train.csv", f"{key}/validate.csv"]
    assert local.download_path == str(tmp_path / "csv")
    exported = set()
    for name in local.file_names:
        text = (tmp_path / "csv" / name).read_text()
        for row in csv.DictReader(io.StringIO(text)):
            box = (float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
            exported.add(rounded((row["filename"], row["label"], *box)))
    assert exported == expected
    assert not [p for p in (tmp_path / "csv").iterdir() if p.name.startswith(".")]

    # COCO in pixels, typed options.
    metadata = nexus_async.ApiTypes.AnnotationExportMetadata(
        format=nexus_async.ApiTypes.AnnotationExportFormat.COCO,
        options=nexus_async.ApiTypes.AnnotationExportOptions(
            split_ratio=0, seed=1, normalized=False
        ),
    )
    op = await project.annotations.create_export(metadata, background=True)
    await project.operations.wait_until_done(op.id)
    local = await project.annotations.download_exported_file(op.id, tmp_path / "coco")
    assert local.file_names == [f"{key}/train.json"]
    document = json.loads((tmp_path / "coco" / local.file_names[0]).read_text())
    images = {i["id"]: i["file_name"] for i in document["images"]}
    categories = {c["id"]: c["name"] for c in document["categories"]}
    pixel_boxes = {
        rounded(
            (
                images[a["image_id"]],
                a["bbox"][0],
                a["bbox"][1],
                a["bbox"][0] + a["bbox"][2],
                a["bbox"][1] + a["bbox"][3],
                categories[a["category_id"]],
            )
        )
        for a in document["annotations"]
    }
    assert pixel_boxes == {rounded(row) for row in CSV_BOXES + COCO_BOXES}


async def test_an_out_of_bounds_box_raises_the_import_error_with_its_log_line(
    project: Project,
) -> None:
    await upload_images(project)
    bad = csv_text([("cat.png", 10.0, 10.0, 259.0, 259.0, "cat")])
    session = project.annotations.create_import_session()
    with pytest.raises(nexus_async.AnnotationImportError) as caught:
        async with session:
            await session.add_bytes(bad.encode(), "bad.csv")
    error = caught.value
    assert error.session_id == session.id
    assert len(error.logs) == 1
    assert error.logs[0].level == "Error"
    assert "At bad.csv:2: Point 259.0, 259.0 is out of bounds." in error.logs[0].message
    assert "out of bounds" in str(error)
    assert (await session.get_logs()).logs == error.logs


async def test_an_error_inside_the_block_marks_the_session_failed_and_propagates(
    project: Project, tmp_path: Path
) -> None:
    session = project.annotations.create_import_session()
    with pytest.raises(nexus_async.InvalidInputError, match="No such file"):
        async with session:
            await session.add_bytes(b"filename,xmin,ymin,xmax,ymax,label\n", "a.csv")
            await session.add_path(tmp_path / "missing.csv")
    state = await project.annotations.get_import_session(session.id or "")
    assert state.status.overview == "Errored"
    assert "FilesProcessed" in state.status.message


async def test_background_import_then_wait_until_done(project: Project) -> None:
    await upload_images(project)
    session = project.annotations.create_import_session(background=True)
    async with session:
        await session.add_bytes(csv_text(CSV_BOXES[:1]).encode(), "one.csv")
    done = await session.wait_until_done()
    assert done.status.overview == "Finished"
    assert done.status.annotations.with_status.Committed == 1


async def test_downloading_a_running_export_says_it_is_running(
    project: Project, server: EmulatorServer, tmp_path: Path
) -> None:
    await upload_images(project)
    server.control.set_timing(60_000, 60_000)
    op = await project.annotations.create_export(
        {"format": "csv_fourcorner", "options": {"split_ratio": 0, "seed": 1}}, background=True
    )
    with pytest.raises(nexus_async.OperationNotFinishedError, match="still Queued"):
        await project.annotations.download_exported_file(op.id, tmp_path / "out")
    assert not (tmp_path / "out").exists()


async def test_a_failed_export_says_it_failed(
    project: Project, server: EmulatorServer, tmp_path: Path
) -> None:
    created = server.control.seed(
        {"workspaces": [{"secret_key": "cls-key", "projects": [{"type": "Classification"}]}]}
    )
    project_id = created["workspaces"][0]["projects"][0]["id"]
    async with nexus_async.AsyncClient("cls-key", endpoint=server.base_url) as client:
        classification = client.get_project(project_id)
        op = await classification.annotations.create_export(
            {"format": "coco", "options": {"split_ratio": 0, "seed": 1}}, background=True
        )
        with pytest.raises(nexus_async.OperationFailedError):
            await classification.operations.wait_until_done(op.id)
        with pytest.raises(nexus_async.OperationFailedError, match="ended Errored"):
            await classification.annotations.download_exported_file(op.id, tmp_path)


def ndjson_lines(count: int) -> str:
    return "".join(
        json.dumps({"kind": "Image", "url": f"https://example.com/{i}.jpg"}) + "\n"
        for i in range(count)
    )


async def test_a_dataset_is_created_uploaded_and_awaited(
    project: Project, tmp_path: Path, server: EmulatorServer
) -> None:
    path = tmp_path / "items.ndjson"
    path.write_text(ndjson_lines(3) + "\n")
    created = await project.batch.datasets.create(name="my-dataset", dataset_path=path)
    assert created.name == "my-dataset"
    done = await project.batch.datasets.wait_until_done(created.id)
    assert done.status.overview == "Uploaded"
    assert done.status.item_count == 3
    assert server.control.stats()["storage"]["checksum_failures"] == 0


async def test_a_bad_ndjson_line_is_reported_with_its_number_and_nothing_is_created(
    project: Project, tmp_path: Path, server: EmulatorServer
) -> None:
    path = tmp_path / "items.ndjson"
    path.write_text(ndjson_lines(2) + "\n[1, 2]\n")
    with pytest.raises(nexus_async.InvalidInputError, match="line 4 is a JSON list"):
        await project.batch.datasets.create(name="bad", dataset_path=path)
    assert server.control.stats()["created"]["datasets"] == 0


def zip_with(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "archive",
    [
        zip_with({"ok/train.csv": b"x", "../../escaped.csv": b"x"}),
        zip_with({"ok/train.csv": b"x", "/tmp/absolute.csv": b"x"}),
        b"PK\x03\x04 not a zip at all",
    ],
    ids=["zip-slip", "absolute", "corrupt"],
)
async def test_a_tampered_export_archive_is_refused_and_nothing_is_extracted(
    project: Project, server: EmulatorServer, tmp_path: Path, archive: bytes
) -> None:
    await upload_images(project)
    async with project.annotations.create_import_session() as session:
        await session.add_bytes(csv_text(CSV_BOXES).encode(), "boxes.csv")
    op = await project.annotations.create_export(
        {"format": "csv_fourcorner", "options": {"split_ratio": 0, "seed": 1}}
    )
    assert server.emulator is not None
    blob = server.emulator.state.store.exports[op.id].blob
    assert blob is not None
    blob.write_bytes(archive)  # what a compromised or broken storage host would serve
    target = tmp_path / "a" / "b"
    with pytest.raises(nexus_async.ArchiveError):
        await project.annotations.download_exported_file(op.id, target)
    assert not (tmp_path / "a").exists()  # neither the target nor the parent it needed
