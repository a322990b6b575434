"""Every API method of the seed docs: the exact method, path, query and JSON body it sends,
and the model it returns. One row per call; the query is compared as the raw string."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import respx

import nexus_async
from nexus_async import ApiTypes, AsyncClient, Project
from tests.unit import payloads

P = f"/projects/{payloads.PROJECT_ID}"
BOUND = [[0.1, 0.1], [0.1, 0.2], [0.2, 0.2], [0.2, 0.1]]


@dataclass
class Call:
    name: str
    invoke: Callable[[AsyncClient, Project], Awaitable[Any]]
    method: str
    path: str
    query: str = ""
    body: Any = None
    response: Any = None
    check: Callable[[Any], bool] = field(kw_only=True)
    """What the returned model must read: every row checks the answer it parsed, not only the
    request (a required field, so a row without a check does not load)."""


CALLS = [
    Call(
        "client.get_info",
        lambda c, p: c.get_info(),
        "GET",
        "/workspace",
        response=payloads.workspace(),
        check=lambda r: r.name == "Raighne's Workspace",
    ),
    Call(
        "client.list_projects",
        lambda c, p: c.list_projects(),
        "GET",
        "/workspace/projects",
        response=[payloads.project()],
        check=lambda r: r[0].id == payloads.PROJECT_ID,
    ),
    Call(
        "project.get_info",
        lambda c, p: p.get_info(),
        "GET",
        P,
        response=payloads.project(),
        check=lambda r: r.statistic.annotated_assets == 1,
    ),
    Call(
        "project.update",
        lambda c, p: p.update({"name": "My Cool Project"}),
        "PATCH",
        P,
        body={"name": "My Cool Project"},
        response=payloads.project(name="My Cool Project"),
        check=lambda r: r.name == "My Cool Project",
    ),
    Call(
        "assets.list default",
        lambda c, p: p.assets.list(),
        "GET",
        f"{P}/assets",
        "limit=100",
        response=payloads.page([payloads.asset()], next_page="T2Y"),
        check=lambda r: r["next_page"] == "T2Y" and r.data[0].metadata.width == 400,
    ),
    Call(
        "assets.list page+limit",
        lambda c, p: p.assets.list({"limit": 2, "page": "ZjYz"}),
        "GET",
        f"{P}/assets",
        "page=ZjYz&limit=2",
        response=payloads.page([payloads.asset("asset_2", "b.png")], prev_page="ZjYy"),
        check=lambda r: (
            isinstance(r.data[0], nexus_async.Asset)
            and (r.data[0].id, r.data[0].filename) == ("asset_2", "b.png")
            and (r.prev_page, r.next_page) == ("ZjYy", None)
        ),
    ),
    Call(
        "assets.list every filter",
        lambda c, p: p.assets.list(
            filters={
                "groups": ["main", "a b"],
                "filename": "x y&z.png",
                "metadata_query": "k=1 and b",
                "status": "Annotated",
                "asset_filter": '{"a":1}',
            }
        ),
        "GET",
        f"{P}/assets",
        "limit=100&group%5B%5D=main&group%5B%5D=a%20b&filename=x%20y%26z.png"
        "&metadataQuery=k%3D1%20and%20b&status=Annotated&filter=%7B%22a%22%3A%201%7D",
        response=payloads.page([payloads.asset(filename="x y&z.png", status="Annotated")]),
        check=lambda r: r.data[0].filename == "x y&z.png" and r.data[0].status == "Annotated",
    ),
    Call(
        "assets.list typed filter",
        lambda c, p: p.assets.list(
            filters=ApiTypes.AssetFilter(status=ApiTypes.AssetStatus.REVIEW)
        ),
        "GET",
        f"{P}/assets",
        "limit=100&status=Review",
        response=payloads.page([payloads.asset(status="Review")]),
        check=lambda r: r.data[0].status == "Review" and r.next_page is None,
    ),
    Call(
        "assets.get by id",
        lambda c, p: p.assets.get("asset_6aea3395-9a72-4bb5-9ee0-19248c903c56"),
        "GET",
        f"{P}/assets/asset_6aea3395-9a72-4bb5-9ee0-19248c903c56",
        response=payloads.asset(),
        check=lambda r: r["url"] == "",
    ),
    Call(
        "assets.get by name",
        lambda c, p: p.assets.get("image.png"),
        "GET",
        f"{P}/assets/image.png",
        response=payloads.asset(filename="image.png"),
        check=lambda r: r.filename == "image.png",
    ),
    Call(
        "assets.update status",
        lambda c, p: p.assets.update("asset_1", {"status": "Annotated"}),
        "PATCH",
        f"{P}/assets/asset_1",
        body={"status": "Annotated"},
        response=payloads.asset(status="Annotated"),
        check=lambda r: r.status == "Annotated",
    ),
    Call(
        "assets.update custom metadata",
        lambda c, p: p.assets.update(
            "asset_1",
            {
                "custom_metadata": {
                    "capturedAt": 1698402314,
                    "latitude": 1.2796709,
                    "longitude": 103.8564199,
                    "ok": True,
                }
            },
        ),
        "PATCH",
        f"{P}/assets/asset_1",
        body={
            "customMetadata": {
                "capturedAt": 1698402314,
                "latitude": 1.2796709,
                "longitude": 103.8564199,
                "ok": True,
            }
        },
        response=payloads.asset(
            metadata={
                **payloads.asset()["metadata"],
                "customMetadata": {"capturedAt": 1698402314, "latitude": 1.2796709, "ok": True},
            }
        ),
        check=lambda r: (
            r.metadata.custom_metadata
            == {"capturedAt": 1698402314, "latitude": 1.2796709, "ok": True}
        ),
    ),
    Call(
        "assets.update typed",
        lambda c, p: p.assets.update(
            "a.png", ApiTypes.AssetMetadata(status=ApiTypes.AssetStatus.TOFIX, groups=["g1"])
        ),
        "PATCH",
        f"{P}/assets/a.png",
        body={"status": "Tofix", "groups": ["g1"]},
        response=payloads.asset(
            filename="a.png",
            status="Tofix",
            metadata={**payloads.asset()["metadata"], "groups": ["g1"]},
        ),
        check=lambda r: (r.filename, r.status, r.metadata.groups) == ("a.png", "Tofix", ["g1"]),
    ),
    Call(
        "assets.delete",
        lambda c, p: p.assets.delete("asset_1"),
        "DELETE",
        f"{P}/assets/asset_1",
        response={"deleted": True, "id": "asset_1"},
        check=lambda r: r.deleted and r.id == "asset_1",
    ),
    Call(
        "assets.list_groups all",
        lambda c, p: p.assets.list_groups(),
        "GET",
        f"{P}/assetgroups",
        response=[
            {
                "group": "main",
                "statistic": {
                    "totalAssets": 503,
                    "annotatedAssets": 0,
                    "reviewedAssets": 0,
                    "toFixedAssets": 0,
                    "completedAssets": 0,
                },
            }
        ],
        check=lambda r: r[0].statistic.total_assets == 503 and r[0].statistic.to_fixed_assets == 0,
    ),
    Call(
        "assets.list_groups named",
        lambda c, p: p.assets.list_groups(["dataset", "main"]),
        "GET",
        f"{P}/assetgroups",
        "group%5B%5D=dataset&group%5B%5D=main",
        response=[
            {"group": name, "statistic": {"totalAssets": n, "annotatedAssets": 1}}
            for name, n in (("dataset", 7), ("main", 9))
        ],
        check=lambda r: (
            [(g.group, g.statistic.total_assets) for g in r] == [("dataset", 7), ("main", 9)]
        ),
    ),
    Call(
        "annotations.list",
        lambda c, p: p.annotations.list(
            pagination={"limit": 500, "page": "NjVh"},
            filters={"asset_ids": ["asset_6647b58e"]},
            include_attributes=True,
        ),
        "GET",
        f"{P}/annotations",
        "page=NjVh&limit=500&assetId%5B%5D=asset_6647b58e&includeAttributes=true",
        response=payloads.page(
            [
                payloads.annotation(
                    attributes=[{"id": "attri_1", "name": "Tag Group", "value": ["person"]}],
                    ontologyId="ontology_1",
                )
            ]
        ),
        check=lambda r: (
            r.data[0].attributes[0].value == ["person"] and r.data[0].ontology_id == "ontology_1"
        ),
    ),
    Call(
        "annotations.list default",
        lambda c, p: p.annotations.list(),
        "GET",
        f"{P}/annotations",
        "limit=100&includeAttributes=false",
        response=payloads.page([payloads.annotation("annot_9", tag="dog")], next_page="NxT"),
        check=lambda r: (
            isinstance(r.data[0], nexus_async.Annotation)
            and (r.data[0].id, r.data[0].tag, r.next_page) == ("annot_9", "dog", "NxT")
        ),
    ),
    Call(
        "annotations.create",
        lambda c, p: p.annotations.create(
            {"bound_type": "Rectangle", "bound": BOUND, "asset_id": "asset_f4dc", "tag": "boat"}
        ),
        "POST",
        f"{P}/annotations",
        body={"assetId": "asset_f4dc", "tag": "boat", "boundType": "Rectangle", "bound": BOUND},
        response=payloads.annotation(),
        check=lambda r: r.bound_type == "Rectangle",
    ),
    Call(
        "annotations.create typed",
        lambda c, p: p.annotations.create(
            ApiTypes.AnnotationMetadata(
                asset_id="asset_1",
                tag="dog",
                bound_type=ApiTypes.BoundType.POLYGON,
                bound=[[0.1, 0.1], [0.2, 0.2], [0.3, 0.1]],
                frame=3,
            )
        ),
        "POST",
        f"{P}/annotations",
        body={
            "assetId": "asset_1",
            "tag": "dog",
            "boundType": "Polygon",
            "bound": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.1]],
            "frame": 3,
        },
        response=payloads.annotation(boundType="Polygon", tag="dog"),
        check=lambda r: (r.bound_type, r.tag, r.asset_id) == ("Polygon", "dog", "asset_1"),
    ),
    Call(
        "annotations.get",
        lambda c, p: p.annotations.get("annot_1", include_attributes=True),
        "GET",
        f"{P}/annotations/annot_1",
        "includeAttributes=true",
        response=payloads.annotation(
            attributes=[{"id": "attri_1", "name": "Colour", "value": ["red"]}]
        ),
        check=lambda r: r.id == "annot_1" and r.attributes[0].value == ["red"],
    ),
    Call(
        "annotations.get default",
        lambda c, p: p.annotations.get("annot_1"),
        "GET",
        f"{P}/annotations/annot_1",
        "includeAttributes=false",
        response=payloads.annotation(),
        check=lambda r: (r.id, r.bound[1]) == ("annot_1", [0.1, 0.2]),
    ),
    Call(
        "annotations.delete",
        lambda c, p: p.annotations.delete("annot_1"),
        "DELETE",
        f"{P}/annotations/annot_1",
        response={"deleted": True, "id": "annot_1"},
        check=lambda r: isinstance(r, nexus_async.DeleteResponse) and r.id == "annot_1",
    ),
    Call(
        "annotations.create_export background",
        lambda c, p: p.annotations.create_export(
            {
                "format": "csv_fourcorner",
                "options": {"split_ratio": 0.5, "seed": 1337, "normalized": True},
            },
            background=True,
        ),
        "POST",
        f"{P}/annotationexports",
        body={
            "format": "csv_fourcorner",
            "options": {"splitRatio": 0.5, "seed": 1337, "normalized": True},
        },
        response=payloads.operation("Queued"),
        check=lambda r: r.status.overview == "Queued",
    ),
    Call(
        "annotations.create_export typed, normalized default",
        lambda c, p: p.annotations.create_export(
            ApiTypes.AnnotationExportMetadata(
                format=ApiTypes.AnnotationExportFormat.COCO,
                options=ApiTypes.AnnotationExportOptions(split_ratio=0, seed=1),
            ),
            background=True,
        ),
        "POST",
        f"{P}/annotationexports",
        body={"format": "coco", "options": {"splitRatio": 0.0, "seed": 1, "normalized": True}},
        response=payloads.operation("Queued", op_id="op_7"),
        check=lambda r: (
            isinstance(r, nexus_async.Operation) and (r.id, r.status.overview) == ("op_7", "Queued")
        ),
    ),
    Call(
        "annotations.create_export with the documented option defaults",
        lambda c, p: p.annotations.create_export({"format": "coco"}, background=True),
        "POST",
        f"{P}/annotationexports",
        body={"format": "coco", "options": {"splitRatio": 0.0, "seed": 1337, "normalized": True}},
        response=payloads.operation("Queued"),
        check=lambda r: r.status.overview == "Queued",
    ),
    Call(
        "annotations.get_export",
        lambda c, p: p.annotations.get_export("op_1"),
        "GET",
        f"{P}/annotationexports/op_1",
        response={
            "opId": "op_1",
            "status": "Finished",
            "download": {"method": "GET", "url": "https://s/x.zip?t=1", "expiryDate": 1},
        },
        check=lambda r: r.download is not None and r.download.url == "https://s/x.zip?t=1",
    ),
    Call(
        "annotations.list_import_sessions",
        lambda c, p: p.annotations.list_import_sessions(),
        "GET",
        f"{P}/annotationimportsessions",
        response=[payloads.import_session("Finished")],
        check=lambda r: r[0].status.overview == "Finished",
    ),
    Call(
        "annotations.get_import_session",
        lambda c, p: p.annotations.get_import_session("annotsess_1"),
        "GET",
        f"{P}/annotationimportsessions/annotsess_1",
        response=payloads.import_session("Errored"),
        check=lambda r: r.status.files.with_status.FailedProcess == 0,
    ),
    Call(
        "annotations.get_import_session_logs",
        lambda c, p: p.annotations.get_import_session_logs("annotsess_1"),
        "GET",
        f"{P}/annotationimportsessions/annotsess_1/logs",
        response=payloads.import_logs("annotsess_1", "At a.csv:19: Point 259.0, 259.0 is out"),
        check=lambda r: r.logs[0].level == "Error" and r.logs[0].message.startswith("At a.csv"),
    ),
    Call(
        "operations.get",
        lambda c, p: p.operations.get("op_1"),
        "GET",
        f"{P}/operations/op_1",
        response=payloads.operation("Running"),
        check=lambda r: r.status.overview == "Running",
    ),
    Call(
        "workflows.list",
        lambda c, p: p.workflows.list(),
        "GET",
        f"{P}/workflows",
        response=[payloads.workflow()],
        check=lambda r: r[0]["id"] == "flow_64e812a7e47592ef374cbbc2",
    ),
    Call(
        "workflows.get",
        lambda c, p: p.workflows.get("flow_639309be08b4488a914b8802"),
        "GET",
        f"{P}/workflows/flow_639309be08b4488a914b8802",
        response=payloads.workflow("flow_639309be08b4488a914b8802"),
        check=lambda r: (
            isinstance(r, nexus_async.Workflow)
            and (r.id, r.title) == ("flow_639309be08b4488a914b8802", "Yolov8 Workflow")
        ),
    ),
    Call(
        "workflows.update dict",
        lambda c, p: p.workflows.update("flow_1", {"title": "My awesome workflow"}),
        "PATCH",
        f"{P}/workflows/flow_1",
        body={"title": "My awesome workflow"},
        response=payloads.workflow(title="My awesome workflow"),
        check=lambda r: r.title == "My awesome workflow",
    ),
    Call(
        "workflows.update typed",
        lambda c, p: p.workflows.update(
            "flow_1", ApiTypes.FlowMetadata(title="My awesome workflow")
        ),
        "PATCH",
        f"{P}/workflows/flow_1",
        body={"title": "My awesome workflow"},
        response=payloads.workflow("flow_1", title="My awesome workflow"),
        check=lambda r: (r.id, r.title) == ("flow_1", "My awesome workflow"),
    ),
    Call(
        "workflows.delete",
        lambda c, p: p.workflows.delete("flow_1"),
        "DELETE",
        f"{P}/workflows/flow_1",
        response={"deleted": True, "id": "flow_1"},
        check=lambda r: r.deleted is True and r.id == "flow_1",
    ),
    Call(
        "datasets.list default",
        lambda c, p: p.batch.datasets.list(),
        "GET",
        f"{P}/batch/datasets",
        "limit=1000",
        response=payloads.page([payloads.dataset()]),
        check=lambda r: r.data[0].status.source.upload_url.method == "PUT",
    ),
    Call(
        "datasets.list page",
        lambda c, p: p.batch.datasets.list({"limit": 2, "page": "ZjYz"}),
        "GET",
        f"{P}/batch/datasets",
        "page=ZjYz&limit=2",
        response=payloads.page([payloads.dataset("Processing", "dataset_2")], next_page="N2"),
        check=lambda r: (
            isinstance(r.data[0], nexus_async.Dataset)
            and (r.data[0].id, r.data[0].status.overview, r.next_page)
            == ("dataset_2", "Processing", "N2")
        ),
    ),
    Call(
        "datasets.get",
        lambda c, p: p.batch.datasets.get("dataset_1"),
        "GET",
        f"{P}/batch/datasets/dataset_1",
        response=payloads.dataset(),
        check=lambda r: r.status.item_count == 50 and r.expiry_time == 1724561116000,
    ),
    Call(
        "datasets.delete",
        lambda c, p: p.batch.datasets.delete("dataset_1"),
        "DELETE",
        f"{P}/batch/datasets/dataset_1",
        response={"deleted": True, "id": "dataset_1"},
        check=lambda r: r.deleted is True and r.id == "dataset_1",
    ),
]


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.name)
async def test_wire_format(
    api: respx.MockRouter, client: AsyncClient, project: Project, call: Call
) -> None:
    route = api.route(method=call.method, path=call.path).respond(json=call.response)
    result = await call.invoke(client, project)
    request = route.calls.last.request
    assert request.method == call.method
    assert request.url.raw_path.decode() == call.path + (f"?{call.query}" if call.query else "")
    if call.body is None:
        assert request.content == b""
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == call.body
    assert route.call_count == 1
    assert call.check(result)


def test_every_public_resource_method_has_a_wire_test() -> None:
    from nexus_async.resources import annotations, assets, datasets, operations, workflows

    tested = {call.name.split()[0] for call in CALLS}
    for module, prefix in [
        (assets, "assets"),
        (annotations, "annotations"),
        (operations, "operations"),
        (workflows, "workflows"),
        (datasets, "datasets"),
    ]:
        resource = next(
            v for k, v in vars(module).items() if k.lower() == prefix and isinstance(v, type)
        )
        for name in vars(resource):
            if name.startswith("_") or name in {"iter", "wait_until_done", "wait_all"}:
                continue  # iter and waiters are covered in test_pagination and test_polling
            if name in {"create_upload_session", "create_uploader"}:
                continue  # their own wire tests: test_asset_session.py, test_uploader.py
            if name in {"create_import_session", "download_exported_file", "create"} and (
                prefix in {"annotations", "datasets"}
            ):
                # several requests each (API + signed storage URLs): their wire is pinned in
                # tests/unit/uploads/test_import_session.py, test_export_download.py and
                # test_dataset_upload.py
                continue
            assert f"{prefix}.{name}" in tested, f"{prefix}.{name} has no wire test"


@pytest.mark.parametrize(
    ("invoke", "match"),
    [
        (lambda p: p.assets.get(""), "asset_id_or_name"),
        (lambda p: p.assets.update("a", {"status": ""}), "AssetUpdate"),
        (lambda p: p.assets.update("a", {"colour": "red"}), "AssetUpdate"),
        (lambda p: p.assets.update("a", {"custom_metadata": {"nested": {"a": 1}}}), "AssetUpdate"),
        (lambda p: p.assets.update("a", {"custom_metadata": {"list": [1]}}), "AssetUpdate"),
        (lambda p: p.assets.update("a", {"groups": ["ok", " "]}), "AssetUpdate"),
        (lambda p: p.assets.update("a", ["status"]), "dict"),
        (lambda p: p.assets.list(filters={"asset_filter": "{not json"}), "not valid JSON"),
        (lambda p: p.assets.list_groups(["main", ""]), "group"),
        (
            lambda p: p.annotations.create(
                {"asset_id": "a", "tag": "t", "bound_type": "Circle", "bound": []}
            ),
            "bound_type",
        ),
        (
            lambda p: p.annotations.create(
                {"asset_id": "a", "tag": "t", "bound_type": "Polygon", "bound": [[1]]}
            ),
            "point",
        ),
        (
            lambda p: p.annotations.create({"tag": "t", "bound_type": "Polygon", "bound": []}),
            "asset_id",
        ),
        (lambda p: p.annotations.get("  "), "annotation_id"),
        (lambda p: p.operations.get(""), "op_id"),
        (lambda p: p.workflows.update("flow_1", {"title": ""}), "FlowMetadata"),
        (lambda p: p.workflows.update("flow_1", {"name": "x"}), "FlowMetadata"),
        (lambda p: p.update({"name": "   "}), "blank"),
        (lambda p: p.batch.datasets.get(""), "dataset_id"),
        (lambda p: p.batch.datasets.list({"limit": 5000}), "Pagination"),
        (
            lambda p: p.annotations.create_export({"format": "png", "options": {"seed": 1}}),
            "AnnotationExportMetadata",
        ),
        (
            lambda p: p.annotations.create_export(
                {"format": "coco", "options": {"split_ratio": 1.5, "seed": 1}}
            ),
            "split_ratio",
        ),
        (lambda p: p.annotations.download_exported_file(""), "op_id"),
        (lambda p: p.annotations.get_import_session(""), "import_session_id"),
        (lambda p: p.batch.datasets.create(name="", dataset_path="x.ndjson"), "name"),
        (lambda p: p.batch.datasets.create(name="d", dataset_path="x.json"), "ndjson"),
        (lambda p: p.batch.datasets.create(name="d", dataset_path="nope.ndjson"), "No such"),
    ],
)
async def test_bad_arguments_fail_before_any_request(
    api: respx.MockRouter, project: Project, invoke: Callable[[Project], Awaitable[Any]], match: str
) -> None:
    with pytest.raises(nexus_async.InvalidInputError, match=match):
        await invoke(project)
    assert api.calls.call_count == 0
