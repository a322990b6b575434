"""HTTP tests: annotations, exports, annotation import sessions and batch datasets."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import httpx
import pytest

from nexus_async.emulator import Emulator, ManualClock, TimingConfig

from .conftest import crc_b64, png_bytes, put_signed, upload_assets

RECT = [[0.1, 0.1], [0.1, 0.2], [0.2, 0.2], [0.2, 0.1]]


@pytest.fixture
async def asset_id(client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str) -> str:
    await upload_assets(client, storage, pid, {"boat.png": png_bytes(400, 243)})
    asset: dict[str, Any] = (await client.get(f"/projects/{pid}/assets/boat.png")).json()
    return str(asset["id"])


async def annotate(client: httpx.AsyncClient, pid: str, asset_id: str, **extra: Any) -> Any:
    body = {"assetId": asset_id, "tag": "boat", "boundType": "Rectangle", "bound": RECT, **extra}
    response = await client.post(f"/projects/{pid}/annotations", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_annotation_crud(client: httpx.AsyncClient, pid: str, asset_id: str) -> None:
    created = await annotate(client, pid, asset_id)
    assert created["id"].startswith("annot_")
    assert created["bound"] == RECT
    assert "attributes" not in created
    assert isinstance(created["createDate"], int)
    url = f"/projects/{pid}/annotations/{created['id']}"
    plain = (await client.get(url + "?includeAttributes=false&")).json()
    assert "ontologyId" not in plain
    rich = (await client.get(url + "?includeAttributes=true&")).json()
    assert rich["ontologyId"].startswith("ontology_")
    assert rich["attributes"] == []
    project = (await client.get(f"/projects/{pid}")).json()
    assert project["tags"] == ["boat"]
    assert project["statistic"]["annotatedAssets"] == 1
    assert project["statistic"]["tagsCount"] == [{"name": "boat", "count": 1}]
    asset = (await client.get(f"/projects/{pid}/assets/{asset_id}")).json()
    assert asset["statistic"]["totalAnnotations"] == 1
    assert asset["status"] == "None"
    assert (await client.delete(url)).json() == {"deleted": True, "id": created["id"]}
    assert (await client.get(url)).status_code == 404


async def test_annotation_list_and_validation(
    client: httpx.AsyncClient, pid: str, asset_id: str
) -> None:
    for _ in range(3):
        await annotate(client, pid, asset_id)
    page = (
        await client.get(f"/projects/{pid}/annotations?limit=2&includeAttributes=false&")
    ).json()
    assert len(page["data"]) == 2
    rest = (await client.get(f"/projects/{pid}/annotations?page={page['nextPage']}")).json()
    assert len(rest["data"]) == 1
    none = await client.get(f"/projects/{pid}/annotations?assetId%5B%5D=asset_other&limit=5")
    assert none.json()["data"] == []
    mine = await client.get(f"/projects/{pid}/annotations?assetId[]={asset_id}")
    assert len(mine.json()["data"]) == 3
    bad_bodies = [
        {"assetId": asset_id, "tag": "boat", "boundType": "Circle", "bound": RECT},
        {"assetId": asset_id, "tag": "boat", "boundType": "Rectangle", "bound": RECT[:3]},
        {"assetId": asset_id, "tag": "boat", "boundType": "Polygon", "bound": RECT[:2]},
        {"assetId": asset_id, "tag": "boat", "boundType": "Rectangle", "bound": [[2, 2]] * 4},
        {"assetId": asset_id, "tag": "", "boundType": "Rectangle", "bound": RECT},
        {"assetId": asset_id, "tag": "boat", "boundType": "Rectangle", "bound": "x"},
    ]
    for body in bad_bodies:
        response = await client.post(f"/projects/{pid}/annotations", json=body)
        assert response.status_code == 400, body
    missing = {"assetId": "asset_nope", "tag": "b", "boundType": "Rectangle", "bound": RECT}
    assert (await client.post(f"/projects/{pid}/annotations", json=missing)).status_code == 404
    bad_flag = await client.get(f"/projects/{pid}/annotations?includeAttributes=maybe")
    assert bad_flag.status_code == 400


async def _export(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, body: dict[str, Any]
) -> zipfile.ZipFile:
    operation = (await client.post(f"/projects/{pid}/annotationexports", json=body)).json()
    assert operation["kind"] == "nexus.annotations.export"
    assert operation["status"]["progress"]["unit"] == "whole operation"
    result = (await client.get(f"/projects/{pid}/annotationexports/{operation['id']}")).json()
    assert result["status"] == "Finished"
    assert result["download"]["method"] == "GET"
    download = await storage.get(result["download"]["url"])
    assert download.headers["content-type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(download.content))


async def test_exports(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, asset_id: str
) -> None:
    await annotate(client, pid, asset_id)
    key = pid.removeprefix("proj_")
    options = {"splitRatio": 0.0, "seed": 1337, "normalized": False}
    archive = await _export(client, storage, pid, {"format": "csv_fourcorner", "options": options})
    assert archive.namelist() == [f"{key}/train.csv"]
    rows = archive.read(f"{key}/train.csv").decode().splitlines()
    assert rows[0] == "filename,xmin,ymin,xmax,ymax,label"
    assert rows[1].startswith("boat.png,40.0,24.3")
    split = {"splitRatio": 1.0, "seed": 1, "normalized": True}
    coco = await _export(client, storage, pid, {"format": "coco", "options": split})
    document = json.loads(coco.read(f"{key}/validate.json"))
    assert document["categories"] == [{"id": 1, "name": "boat"}]
    assert document["annotations"][0]["bbox"] == pytest.approx([0.1, 0.1, 0.1, 0.1])
    placeholder = await _export(client, storage, pid, {"format": "yolo_darknet", "options": {}})
    assert placeholder.namelist() == [f"{key}/README.txt"]
    unknown = await client.post(f"/projects/{pid}/annotationexports", json={"format": "nope"})
    assert unknown.status_code == 400
    bad_split = {"format": "coco", "options": {"splitRatio": 2}}
    assert (
        await client.post(f"/projects/{pid}/annotationexports", json=bad_split)
    ).status_code == 400
    assert (await client.get(f"/projects/{pid}/annotationexports/op_x")).status_code == 404


async def test_export_realistic_timing(
    emulator: Emulator, client: httpx.AsyncClient, pid: str, clock: ManualClock, asset_id: str
) -> None:
    emulator.config.timing = TimingConfig(queue_ms=100, processing_ms=1000)
    created = await client.post(f"/projects/{pid}/annotationexports", json={"format": "coco"})
    op_id = created.json()["id"]
    assert created.json()["status"]["overview"] == "Queued"
    clock.advance(100)
    result = (await client.get(f"/projects/{pid}/annotationexports/{op_id}")).json()
    assert result == {"opId": op_id, "status": "Running"}
    clock.advance(1000)
    result = (await client.get(f"/projects/{pid}/annotationexports/{op_id}")).json()
    assert result["status"] == "Finished"
    assert "download" in result


async def _import(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, files: dict[str, bytes]
) -> tuple[str, dict[str, Any]]:
    session = (await client.post(f"/projects/{pid}/annotationimportsessions")).json()
    assert session["status"]["overview"] == "Running"
    base = f"/projects/{pid}/annotationimportsessions/{session['id']}"
    announced = await client.post(
        base + "/files",
        json={
            "files": [
                {"filename": n, "size": len(d), "crc32c": crc_b64(d)} for n, d in files.items()
            ]
        },
    )
    assert announced.status_code == 200, announced.text
    listed = announced.json()["files"]
    assert [f["filename"] for f in listed] == list(files)
    for entry in listed:
        stored = await put_signed(storage, entry["upload"], files[entry["filename"]])
        assert stored.status_code == 200
    done = await client.patch(
        base,
        json={"status": {"conditions": [{"condition": "FilesInserted", "status": "Reached"}]}},
    )
    assert done.status_code == 200
    return base, done.json()


async def test_import_csv_with_line_errors(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, asset_id: str
) -> None:
    csv_data = (
        b"filename,xmin,ymin,xmax,ymax,label\n"
        + b"boat.png,10,20,100,200,boat\n" * 17
        + b"boat.png,10,10,259.0,259.0,boat\n"
    )
    base, session = await _import(client, storage, pid, {"test_annotations2.csv": csv_data})
    assert session["status"]["overview"] == "Errored"
    assert session["status"]["files"]["withStatus"]["Processed"] == 1
    assert session["status"]["annotations"]["withStatus"] == {"Processed": 18, "Committed": 17}
    logs = (await client.get(base + "/logs")).json()["logs"]
    assert logs[0]["level"] == "Error"
    assert isinstance(logs[0]["timestamp"], float)
    assert logs[0]["message"] == (
        "At test_annotations2.csv:19: Point 259.0, 259.0 is out of bounds.\n\n"
        "Hint: The asset for this annotation has dimensions 400 x 243 pixels."
    )
    listed = (await client.get(f"/projects/{pid}/annotations?limit=100")).json()["data"]
    assert len(listed) == 17
    late = await client.post(
        base + "/files", json={"files": [{"filename": "b.csv", "size": 1, "crc32c": "AAAAAA=="}]}
    )
    assert late.status_code == 400


async def test_import_coco_success_and_session_list(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, asset_id: str
) -> None:
    coco = json.dumps(
        {
            "images": [{"id": 1, "file_name": "boat.png"}],
            "categories": [{"id": 1, "name": "ship"}],
            "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 24.3]}],
        }
    ).encode()
    base, session = await _import(client, storage, pid, {"a.json": coco})
    assert session["status"]["overview"] == "Finished"
    assert session["status"]["message"] == "Annotation Imported successfully."
    assert (await client.get(base + "/logs")).json()["logs"] == []
    listed = (await client.get(f"/projects/{pid}/annotationimportsessions")).json()
    assert [s["id"] for s in listed] == [session["id"]]
    annotation = (await client.get(f"/projects/{pid}/annotations")).json()["data"][0]
    assert annotation["tag"] == "ship"


async def test_import_failed_reach_and_validation(
    client: httpx.AsyncClient, pid: str, emulator: Emulator
) -> None:
    session = (await client.post(f"/projects/{pid}/annotationimportsessions")).json()
    base = f"/projects/{pid}/annotationimportsessions/{session['id']}"
    file = {"filename": "a.csv", "size": 14, "crc32c": "2+mBfA=="}
    assert (await client.post(base + "/files", json={"files": [file]})).status_code == 200
    assert (await client.post(base + "/files", json={"files": [file]})).status_code == 400
    emulator.config.max_files_per_import_request = 2
    many = [dict(file, filename=f"{i}.csv") for i in range(3)]
    assert (await client.post(base + "/files", json={"files": many})).status_code == 400
    bad_pair = {"status": {"conditions": [{"condition": "FilesInserted", "status": "Nope"}]}}
    assert (await client.patch(base, json=bad_pair)).status_code == 400
    failed = await client.patch(
        base,
        json={"status": {"conditions": [{"condition": "FilesProcessed", "status": "FailedReach"}]}},
    )
    assert failed.json()["status"]["overview"] == "Errored"


async def test_datasets_lifecycle(
    client: httpx.AsyncClient,
    storage: httpx.AsyncClient,
    pid: str,
    emulator: Emulator,
    clock: ManualClock,
) -> None:
    emulator.config.timing = TimingConfig(queue_ms=100, processing_ms=100)
    data = b'{"kind": "Image", "url": "https://signed.url/image1.jpg"}\n' * 3
    body = {
        "name": "ds",
        "spec": {
            "source": {
                "kind": "UploadedNewlineDelimitedJsonFile",
                "sizeBytes": len(data),
                "crc32c": crc_b64(data),
            }
        },
    }
    created = (await client.post(f"/projects/{pid}/batch/datasets", json=body)).json()
    assert created["object"] == "dataset"
    assert created["status"]["overview"] == "Waiting"
    upload = created["status"]["source"]["uploadUrl"]
    assert upload["headers"]["content-length"] == str(len(data))
    assert upload["headers"]["x-goog-if-generation-match"] == "0"
    assert (await put_signed(storage, upload, data)).status_code == 200
    assert (await put_signed(storage, upload, data)).status_code == 412
    url = f"/projects/{pid}/batch/datasets/{created['id']}"
    assert (await client.get(url)).json()["status"]["overview"] == "Processing"
    clock.advance(100)
    assert (await client.get(url)).json()["status"]["overview"] == "Uploading"
    clock.advance(100)
    done = (await client.get(url)).json()
    assert done["status"]["overview"] == "Uploaded"
    assert done["status"]["message"] == "Uploaded Dataset"
    assert done["status"]["itemCount"] == 3
    page = (await client.get(f"/projects/{pid}/batch/datasets?limit=1000")).json()
    assert [d["id"] for d in page["data"]] == [created["id"]]
    assert (await client.delete(url)).json() == {"deleted": True, "id": created["id"]}
    assert (await client.get(url)).status_code == 404


async def test_dataset_failures(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    async def create(data: bytes, crc: str | None = None) -> dict[str, Any]:
        source = {
            "kind": "UploadedNewlineDelimitedJsonFile",
            "sizeBytes": len(data),
            "crc32c": crc or crc_b64(data),
        }
        response = await client.post(
            f"/projects/{pid}/batch/datasets", json={"name": "d", "spec": {"source": source}}
        )
        return dict(response.json())

    invalid = b'{"kind": "Video"}\n'
    dataset = await create(invalid)
    await put_signed(storage, dataset["status"]["source"]["uploadUrl"], invalid)
    got = (await client.get(f"/projects/{pid}/batch/datasets/{dataset['id']}")).json()
    assert got["status"]["overview"] == "FailedProcessing"
    good = b'{"kind": "Image", "url": "https://x/y.jpg"}\n'
    corrupt = await create(good, crc_b64(b"other"))
    response = await put_signed(storage, corrupt["status"]["source"]["uploadUrl"], good)
    assert response.status_code == 400
    got = (await client.get(f"/projects/{pid}/batch/datasets/{corrupt['id']}")).json()
    assert got["status"]["overview"] == "FailedUpload"
    bad = {"name": "d", "spec": {"source": {"kind": "Other", "sizeBytes": 1, "crc32c": "x"}}}
    assert (await client.post(f"/projects/{pid}/batch/datasets", json=bad)).status_code == 400


async def test_export_in_a_format_unfit_for_the_project_errors(
    client: httpx.AsyncClient, pid: str, emulator: Emulator
) -> None:
    created = await client.post(
        f"/projects/{pid}/annotationexports", json={"format": "csv_classification"}
    )
    operation = created.json()
    assert operation["status"]["overview"] == "Errored"
    assert operation["status"]["progress"]["withStatus"]["Errored"] == 1
    result = (await client.get(f"/projects/{pid}/annotationexports/{operation['id']}")).json()
    assert result == {"opId": operation["id"], "status": "Errored"}
    seeded = emulator.seed({"workspaces": [{"projects": [{"type": "Classification"}]}]})
    workspace = seeded["workspaces"][0]
    other = workspace["projects"][0]["id"]
    headers = {"Secret-Key": workspace["secret_key"]}
    fits = await client.post(
        f"/projects/{other}/annotationexports",
        json={"format": "csv_classification"},
        headers=headers,
    )
    assert fits.json()["status"]["overview"] == "Finished"
