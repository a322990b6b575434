"""HTTP tests: auth, isolation, workspace, projects, assets, groups, metadata, workflows."""

from __future__ import annotations

import httpx

from nexus_async.emulator import Emulator

from .conftest import png_bytes, upload_assets

FORBIDDEN = {"code": "ForbiddenError", "message": "No Access Rights to Requested Resources"}


async def test_missing_or_wrong_key_is_403(client: httpx.AsyncClient, pid: str) -> None:
    for headers in ({"Secret-Key": "wrong"}, {"Secret-Key": ""}):
        response = await client.get("/workspace", headers=headers)
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    response = await client.get(f"/projects/{pid}", headers={"Secret-Key": "nope"})
    assert response.json() == FORBIDDEN


async def test_other_workspace_project_is_403_unknown_is_404(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    created = emulator.seed({"workspaces": [{"secret_key": "k2", "projects": [{"name": "x"}]}]})
    other = created["workspaces"][0]["projects"][0]["id"]
    response = await client.get(f"/projects/{other}")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    response = await client.get(f"/projects/{other}", headers={"Secret-Key": "k2"})
    assert response.status_code == 200
    response = await client.get("/projects/proj_doesnotexist")
    assert response.status_code == 404
    assert response.json() == {
        "code": "ResourceNotFoundError",
        "message": "Requested Project Resource Not Found",
    }


async def test_workspace_and_projects_shapes(
    client: httpx.AsyncClient, emulator: Emulator, pid: str
) -> None:
    workspace = (await client.get("/workspace")).json()
    assert workspace["id"] == emulator.workspace_id
    assert isinstance(workspace["createDate"], int)
    assert set(workspace) >= {"id", "name", "owner", "tier", "createDate", "object"}
    projects = (await client.get("/workspace/projects")).json()
    assert [p["id"] for p in projects] == [pid]
    project = projects[0]
    assert project["type"] == "ObjectDetection"
    assert project["localization"] == "MULTI"
    assert project["statistic"] == {
        "tagsCount": [],
        "totalAssets": 0,
        "annotatedAssets": 0,
        "totalAnnotations": 0,
    }
    renamed = await client.patch(f"/projects/{pid}", json={"name": "My Cool Project"})
    assert renamed.json()["name"] == "My Cool Project"
    blank = await client.patch(f"/projects/{pid}", json={"name": "  "})
    assert blank.status_code == 400
    assert blank.json()["code"] == "BadRequestError"


async def test_asset_list_filters_and_pagination(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    files = {f"img{i}.png": png_bytes(10 + i, 20) for i in range(5)}
    await upload_assets(client, storage, pid, dict(list(files.items())[:3]), groups=["main"])
    await upload_assets(client, storage, pid, dict(list(files.items())[3:]), groups=["a b", "x"])
    page1 = (await client.get(f"/projects/{pid}/assets?limit=2&")).json()
    assert [a["filename"] for a in page1["data"]] == ["img0.png", "img1.png"]
    assert page1["prevPage"] is None
    assert page1["nextPage"]
    page2 = (await client.get(f"/projects/{pid}/assets?page={page1['nextPage']}&limit=2")).json()
    assert [a["filename"] for a in page2["data"]] == ["img2.png", "img3.png"]
    back = (await client.get(f"/projects/{pid}/assets", params={"page": page2["prevPage"]})).json()
    assert [a["filename"] for a in back["data"]][:2] == ["img0.png", "img1.png"]
    grouped = await client.get(f"/projects/{pid}/assets?limit=100&group%5B%5D=a%20b&")
    assert [a["filename"] for a in grouped.json()["data"]] == ["img3.png", "img4.png"]
    by_name = await client.get(f"/projects/{pid}/assets", params={"filename": "img1.png"})
    assert [a["filename"] for a in by_name.json()["data"]] == ["img1.png"]
    by_status = await client.get(f"/projects/{pid}/assets?status=Annotated&limit=5")
    assert by_status.json()["data"] == []
    bad = [
        "limit=0",
        "limit=1001",
        "limit=abc",
        "page=garbage!!",
        "page=Zm9vYmFy",
        "filter=%7Bnot-json",
    ]
    for query in bad:
        response = await client.get(f"/projects/{pid}/assets?{query}")
        assert response.status_code == 400, query
        assert response.json()["code"] == "BadRequestError"


async def test_asset_shape_and_get_by_id_or_name(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    data = png_bytes(400, 243)
    await upload_assets(client, storage, pid, {"boat 1+2.png": data})
    listed = (await client.get(f"/projects/{pid}/assets")).json()["data"][0]
    assert listed["metadata"] == {
        "fileSize": len(data),
        "mimeType": "image/png",
        "height": 243,
        "width": 400,
        "groups": ["main"],
        "customMetadata": {},
    }
    by_id = (await client.get(f"/projects/{pid}/assets/{listed['id']}")).json()
    by_name = (await client.get(f"/projects/{pid}/assets/boat%201%2B2.png")).json()
    assert by_id["id"] == by_name["id"] == listed["id"]
    download = await storage.get(listed["url"])
    assert download.status_code == 200
    assert download.content == data
    tampered = listed["url"].replace("X-Goog-Signature=", "X-Goog-Signature=0")
    assert (await storage.get(tampered)).status_code == 403
    missing = await client.get(f"/projects/{pid}/assets/nope.png")
    assert missing.status_code == 404


async def test_asset_update_delete_and_groups(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    await upload_assets(client, storage, pid, {"a.png": png_bytes(1, 1), "b.png": png_bytes(1, 1)})
    url = f"/projects/{pid}/assets/a.png"
    updated = await client.patch(
        url, json={"status": "Annotated", "groups": ["g1"], "customMetadata": {"k": 1}}
    )
    assert updated.status_code == 200
    body = updated.json()
    assert body["status"] == "Annotated"
    assert body["metadata"]["groups"] == ["g1"]
    assert body["metadata"]["customMetadata"] == {"k": 1}
    for bad in ({"status": "Weird"}, {"groups": [""]}, {"customMetadata": {"a": {"b": 1}}}):
        response = await client.patch(url, json=bad)
        assert response.status_code == 400, bad
    groups = (await client.get(f"/projects/{pid}/assetgroups")).json()
    stats = {g["group"]: g["statistic"] for g in groups}
    assert stats["g1"]["totalAssets"] == 1
    assert stats["g1"]["annotatedAssets"] == 1
    assert stats["main"]["totalAssets"] == 1
    only = (await client.get(f"/projects/{pid}/assetgroups?group%5B%5D=g1&")).json()
    assert [g["group"] for g in only] == ["g1"]
    deleted = await client.delete(url)
    assert deleted.json() == {"deleted": True, "id": body["id"]}
    assert (await client.get(url)).status_code == 404
    assert (await client.delete(url)).status_code == 404


async def test_custom_metadata_records(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    await upload_assets(client, storage, pid, {"a.png": png_bytes(1, 1)})
    base = f"/projects/{pid}/assets/a.png/customMetadatas"
    put = await client.put(
        base,
        json={"parent": {"kind": "customMetadata#assetParent"}, "customMetadata": {"k": "v"}},
    )
    record = put.json()
    assert record["customMetadata"] == {"k": "v"}
    assert record["id"].startswith("custommeta_customMetadata#assetParent:")
    frame = await client.put(
        base,
        json={
            "parent": {"kind": "customMetadata#assetFrameParent", "frame": 3},
            "customMetadata": {"f": 1},
        },
    )
    assert frame.json()["parent"]["frame"] == 3
    listed = (await client.get(base)).json()["customMetadatas"]
    assert len(listed) == 2
    asset = (await client.get(f"/projects/{pid}/assets/a.png")).json()
    assert asset["metadata"]["customMetadata"] == {"k": "v"}
    bulk = await client.post(
        f"/projects/{pid}/customMetadataBulkUpdates",
        json={
            "customMetadatas": [
                {
                    "parent": {"kind": "customMetadata#assetFilenameParent", "filename": "a.png"},
                    "customMetadata": {"k": "w"},
                },
                {
                    "parent": {"kind": "customMetadata#assetParent", "assetId": "asset_x"},
                    "customMetadata": {"k": "z"},
                },
            ]
        },
    )
    assert len(bulk.json()["customMetadatas"]) == 1
    assert bulk.json()["errors"][0]["error"] == "Asset not found"
    encoded = record["id"].replace("#", "%23").replace(":", "%3A")
    removed = await client.delete(f"{base}/{encoded}")
    assert removed.json() == {"deleted": True, "id": record["id"]}
    missing = await client.post(
        f"/projects/{pid}/customMetadataBulkUpdates/delete", json={"ids": [record["id"]]}
    )
    assert missing.json()["errors"][0]["id"] == record["id"]


async def test_workflows(client: httpx.AsyncClient, pid: str) -> None:
    flows = (await client.get(f"/projects/{pid}/workflows")).json()
    assert len(flows) == 2
    flow_id = flows[0]["id"]
    assert flow_id.startswith("flow_")
    assert len(flow_id) == 29
    one = await client.get(f"/projects/{pid}/workflows/{flow_id}")
    assert one.json()["title"] == flows[0]["title"]
    updated = (
        await client.patch(f"/projects/{pid}/workflows/{flow_id}", json={"title": "New"})
    ).json()
    assert updated["title"] == "New"
    assert updated["updateDate"] > flows[0]["updateDate"]
    deleted = await client.delete(f"/projects/{pid}/workflows/{flow_id}")
    assert deleted.json() == {"deleted": True, "id": flow_id}
    assert (await client.get(f"/projects/{pid}/workflows/{flow_id}")).status_code == 404


async def test_metadata_query_subset(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    await upload_assets(client, storage, pid, {"a.png": png_bytes(1, 1), "b.png": png_bytes(1, 1)})
    await client.patch(
        f"/projects/{pid}/assets/a.png", json={"customMetadata": {"k": 1, "b": True}}
    )
    await client.patch(f"/projects/{pid}/assets/b.png", json={"customMetadata": {"k": "2"}})

    async def names(query: str) -> list[str]:
        response = await client.get(f"/projects/{pid}/assets?metadataQuery={query}&limit=10&")
        return [a["filename"] for a in response.json()["data"]]

    assert await names("k=1%20and%20b") == ["a.png"]
    assert await names("k=2") == ["b.png"]
    assert await names("k") == ["a.png", "b.png"]
    assert await names("b=true%20AND%20k=1") == ["a.png"]
    assert await names("missing") == []
    assert (await client.get(f"/projects/{pid}/assets?metadataQuery==x")).status_code == 400


async def test_page_cursors_are_judged_alike_by_every_list(
    client: httpx.AsyncClient, pid: str
) -> None:
    # A garbled cursor is a 400 everywhere; a well-formed one past the end is an empty page.
    past_the_end = "ZjAwMDAwMDAwMDAwMDAwMDAwMDAwMDk5OQ"
    for what in ("assets", "annotations"):
        garbled = await client.get(f"/projects/{pid}/{what}", params={"page": "bogus"})
        assert garbled.status_code == 400, what
        empty = await client.get(f"/projects/{pid}/{what}", params={"page": past_the_end})
        assert (empty.status_code, empty.json()["data"]) == (200, []), what
