"""Every core SDK call of the seed docs, end to end over real HTTP against the emulator."""

from __future__ import annotations

import base64

import google_crc32c
import httpx
import pytest

import nexus_async
from nexus_async import ApiTypes, AsyncClient, Project
from nexus_async.testing import EmulatorServer

BOX = [[0.1, 0.1], [0.1, 0.5], [0.5, 0.5], [0.5, 0.1]]


async def test_workspace_and_projects(
    client: AsyncClient, project: Project, server: EmulatorServer
) -> None:
    workspace = await client.get_info()
    assert workspace.id == server.workspace_id
    projects = await client.list_projects()
    assert [p.id for p in projects] == [project.id]
    assert projects[0].info is not None
    assert projects[0].info.type == "ObjectDetection"
    without_prefix = client.get_project(project.id.removeprefix("proj_"))
    info = await without_prefix.get_info()
    assert info.id == project.id
    assert info.groups == ["main"]
    updated = await project.update({"name": "Cats"})
    assert updated.name == "Cats" == (await project.get_info()).name
    assert (await project.update(ApiTypes.ProjectMetadata(name="Dogs"))).name == "Dogs"


async def test_assets_list_pages_get_update_delete(seeded: Project) -> None:
    first = await seeded.assets.list({"limit": 2})
    assert len(first) == 2
    assert first["next_page"]
    assert first.prev_page is None
    second = await seeded.assets.list({"limit": 2, "page": first.next_page})
    assert second.prev_page is not None
    everything = [asset.filename async for asset in seeded.assets.iter(limit=2)]
    assert everything == ["a.png", "b.png", "my file#1.png", "d.png", "e.png"]

    by_name = await seeded.assets.get("my file#1.png")
    assert (by_name.metadata.width, by_name.metadata.height) == (42, 30)
    by_id = await seeded.assets.get(by_name.id)
    assert by_id.filename == "my file#1.png"
    filtered = await seeded.assets.list(filters={"filename": "my file#1.png"})
    assert [a.id for a in filtered] == [by_name.id]

    updated = await seeded.assets.update(by_name.id, {"status": "Annotated"})
    assert updated.status == "Annotated"
    metadata = {"capturedAt": 1698402314, "latitude": 1.2796709, "ok": True, "site": "A&B #2"}
    updated = await seeded.assets.update("my file#1.png", {"custom_metadata": metadata})
    assert updated.metadata.custom_metadata == metadata
    annotated = await seeded.assets.list(filters={"status": "Annotated"})
    assert [a.filename for a in annotated] == ["my file#1.png"]

    groups = await seeded.assets.list_groups()
    main = next(g for g in groups if g.group == "main")
    assert main.statistic is not None
    assert (main.statistic.total_assets, main.statistic.annotated_assets) == (5, 1)
    assert [g.group for g in await seeded.assets.list_groups(["main"])] == ["main"]

    deleted = await seeded.assets.delete("my file#1.png")
    assert deleted.deleted
    assert deleted.id == by_name.id
    with pytest.raises(nexus_async.NotFoundError):
        await seeded.assets.get(by_name.id)


async def test_annotations_create_list_get_delete(seeded: Project) -> None:
    asset = await seeded.assets.get("a.png")
    created = await seeded.annotations.create(
        {"asset_id": asset.id, "tag": "boat", "bound_type": "Rectangle", "bound": BOX}
    )
    assert created.asset_id == asset.id
    assert created.bound == BOX
    other = await seeded.assets.get("b.png")
    await seeded.annotations.create(
        ApiTypes.AnnotationMetadata(
            asset_id=other.id,
            tag="boat",
            bound_type="Polygon",
            bound=[[0.1, 0.1], [0.2, 0.3], [0.3, 0.1]],
        )
    )
    page = await seeded.annotations.list(filters={"asset_ids": [asset.id]}, include_attributes=True)
    assert [a.id for a in page] == [created.id]
    every = [a.id async for a in seeded.annotations.iter(limit=1)]
    assert len(every) == 2
    assert created.id in every
    fetched = await seeded.annotations.get(created.id, include_attributes=True)
    assert fetched.tag == "boat"
    assert (await seeded.annotations.delete(created.id)).deleted
    with pytest.raises(nexus_async.NotFoundError):
        await seeded.annotations.get(created.id)


async def test_workflows(project: Project) -> None:
    flows = await project.workflows.list()
    assert len(flows) >= 1
    flow = await project.workflows.get(flows[0].id)
    updated = await project.workflows.update(
        flow.id, ApiTypes.FlowMetadata(title="My awesome workflow")
    )
    assert updated.title == "My awesome workflow"
    assert (await project.workflows.update(flow.id, {"title": "Again"}))["title"] == "Again"
    assert (await project.workflows.delete(flow.id)).deleted
    assert flow.id not in [f.id for f in await project.workflows.list()]


async def test_operations_wait_until_done_on_an_export(seeded: Project) -> None:
    asset = await seeded.assets.get("a.png")
    await seeded.annotations.create(
        {"asset_id": asset.id, "tag": "boat", "bound_type": "Rectangle", "bound": BOX}
    )
    # Exports are another issue's API; start one through the pipeline to get a real operation.
    started = await seeded._transport.request(
        "POST",
        f"/projects/{seeded.id}/annotationexports",
        body={
            "format": "csv_fourcorner",
            "options": {"splitRatio": 0.0, "seed": 1, "normalized": True},
        },
    )
    op = await seeded.operations.wait_until_done(started["id"], timeout=30)
    assert op.status.overview == "Finished"
    assert op.kind == "nexus.annotations.export"
    assert (await seeded.operations.get(op.id)).id == op.id
    assert [o.id for o in await seeded.operations.wait_all([op.id, op.id])] == [op.id, op.id]
    with pytest.raises(nexus_async.NotFoundError):
        await seeded.operations.get("op_00000000-0000-4000-8000-000000000000")


async def test_batch_datasets_list_get_wait_delete(project: Project) -> None:
    ndjson = b'{"kind": "Image", "url": "https://example.invalid/1.jpg"}\n' * 3
    digest = base64.b64encode(google_crc32c.Checksum(ndjson).digest()).decode()
    # Dataset creation is another issue's API; create one through the pipeline, upload by hand.
    created = await project._transport.request(
        "POST",
        f"/projects/{project.id}/batch/datasets",
        body={
            "name": "ds",
            "spec": {
                "source": {
                    "kind": "UploadedNewlineDelimitedJsonFile",
                    "sizeBytes": len(ndjson),
                    "crc32c": digest,
                }
            },
        },
    )
    upload = created["status"]["source"]["uploadUrl"]
    async with httpx.AsyncClient() as storage:
        response = await storage.request(
            upload["method"], upload["url"], headers=upload["headers"], content=ndjson
        )
    assert response.status_code == 200
    dataset = await project.batch.datasets.wait_until_done(created["id"], timeout=30)
    assert dataset.status.overview == "Uploaded"
    assert dataset.status.item_count == 3
    page = await project.batch.datasets.list()
    assert [d.id for d in page] == [dataset.id]
    assert (await project.batch.datasets.get(dataset.id)).name == "ds"
    assert (await project.batch.datasets.delete(dataset.id)).deleted
    with pytest.raises(nexus_async.NotFoundError):
        await project.batch.datasets.get(dataset.id)


async def test_wrong_key_and_other_workspaces_are_forbidden(
    server: EmulatorServer, seeded: Project
) -> None:
    async with AsyncClient("not-a-key", endpoint=server.base_url) as stranger:
        with pytest.raises(nexus_async.ForbiddenError) as caught:
            await stranger.get_info()
        assert caught.value.code == "ForbiddenError"
    async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
        with pytest.raises(nexus_async.ForbiddenError):
            await client.get_project(seeded.id).get_info()
        with pytest.raises(nexus_async.NotFoundError):
            await client.get_project("proj_0123456789abcdef0123456789abcdef").get_info()


async def test_server_side_validation_errors_are_typed(seeded: Project) -> None:
    with pytest.raises(nexus_async.BadRequestError):
        await seeded.assets.list({"page": "not-a-real-cursor"})
    with pytest.raises(nexus_async.BadRequestError):
        await seeded.annotations.create(
            {
                "asset_id": (await seeded.assets.get("a.png")).id,
                "tag": "boat",
                "bound_type": "Rectangle",
                "bound": [[0.1, 0.1], [0.1, 1.5], [0.5, 1.5], [0.5, 0.1]],
            }
        )
    with pytest.raises(nexus_async.NotFoundError):
        await seeded.assets.update("missing.png", {"status": "Annotated"})
