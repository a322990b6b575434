"""Wire payloads (camelCase JSON, as the API sends them) for the unit tests."""

from __future__ import annotations

from typing import Any

PROJECT_ID = "proj_b705a30ae26671657f1fd51eb2d4739d"


def workspace() -> dict[str, Any]:
    return {
        "id": "ws_1c8aab980f174b0296c7e35e88665b13",
        "object": "workspace",
        "name": "Raighne's Workspace",
        "owner": "user_6323fea23e292439f31c58cd",
        "tier": "Developer",
        "createDate": 1694771445182,
    }


def project(**changes: Any) -> dict[str, Any]:
    return {
        "id": PROJECT_ID,
        "object": "project",
        "name": "Cats",
        "workspaceId": "ws_1c8aab980f174b0296c7e35e88665b13",
        "type": "ObjectDetection",
        "createDate": 1669185404836,
        "localization": "MULTI",
        "tags": ["boat"],
        "groups": ["main"],
        "statistic": {
            "tagsCount": [{"name": "boat", "count": 2}],
            "totalAssets": 3,
            "annotatedAssets": 1,
            "totalAnnotations": 2,
        },
        **changes,
    }


def asset(
    asset_id: str = "asset_1", filename: str = "boat180.png", **changes: Any
) -> dict[str, Any]:
    return {
        "id": asset_id,
        "object": "asset",
        "projectId": PROJECT_ID,
        "filename": filename,
        "status": "None",
        "createDate": 1701927649302,
        "url": "",
        "metadata": {
            "fileSize": 186497,
            "mimeType": "image/png",
            "height": 243,
            "width": 400,
            "groups": ["main"],
            "customMetadata": {"captureAt": "2021-03-10T09:00:00Z"},
        },
        "statistic": {"tagsCount": [], "totalAnnotations": 0},
        **changes,
    }


def page(
    items: list[dict[str, Any]], next_page: str | None = None, prev_page: str | None = None
) -> dict[str, Any]:
    return {"nextPage": next_page, "prevPage": prev_page, "data": items}


def annotation(annotation_id: str = "annot_1", **changes: Any) -> dict[str, Any]:
    return {
        "id": annotation_id,
        "object": "annotation",
        "projectId": PROJECT_ID,
        "assetId": "asset_1",
        "tag": "boat",
        "boundType": "Rectangle",
        "bound": [[0.1, 0.1], [0.1, 0.2], [0.2, 0.2], [0.2, 0.1]],
        "createDate": 1701927649302,
        **changes,
    }


def operation(overview: str = "Finished", op_id: str = "op_1") -> dict[str, Any]:
    counts = dict.fromkeys(("Queued", "Running", "Finished", "Cancelled", "Errored"), 0)
    counts[overview] = 1
    return {
        "id": op_id,
        "object": "operation",
        "kind": "nexus.annotations.export",
        "status": {
            "overview": overview,
            "message": f"Operation {overview.lower()}",
            "progress": {"unit": "whole operation", "withStatus": counts},
        },
        "createDate": 1701927649302,
        "updateDate": 1701927649302,
    }


def workflow(
    flow_id: str = "flow_64e812a7e47592ef374cbbc2", title: str = "Yolov8 Workflow"
) -> dict[str, Any]:
    return {
        "id": flow_id,
        "object": "workflow",
        "projectId": PROJECT_ID,
        "title": title,
        "createDate": 1701927649302,
        "updateDate": 1701927649302,
    }


def dataset(overview: str = "Uploaded", dataset_id: str = "dataset_1") -> dict[str, Any]:
    return {
        "id": dataset_id,
        "object": "dataset",
        "name": "my-dataset",
        "projectId": PROJECT_ID,
        "expiryTime": 1724561116000,
        "status": {
            "overview": overview,
            "message": f"{overview} Dataset",
            "updateTime": 1723697121735,
            "source": {
                "kind": "UploadedNewlineDelimitedJsonFile",
                "uploadUrl": {
                    "method": "PUT",
                    "url": "",
                    "headers": {"content-type": "application/x-ndjson"},
                    "expiresAtTime": 1723740318174,
                },
            },
            "itemCount": 50,
        },
        "createDate": 1723697118174,
        "updateDate": 1723697121774,
    }


def import_session(
    overview: str = "Running", session_id: str = "annotsess_1", **changes: Any
) -> dict[str, Any]:
    return {
        "id": session_id,
        "object": "annotation_import_session",
        "projectId": PROJECT_ID,
        "status": {
            "overview": overview,
            "message": "Running." if overview == "Running" else f"{overview}.",
            "updateDate": 1705465365932,
            "files": {
                "totalSizeBytes": 0,
                "pageCount": 1,
                "withStatus": {"Processing": 0, "Processed": 0, "FailedProcess": 0},
            },
            "annotations": {"withStatus": {"Processed": 0, "Committed": 0}},
        },
        "expiryDate": 1705468620676,
        "createDate": 1705465320781,
        "updateDate": 1705465365945,
        **changes,
    }


def import_logs(session_id: str = "annotsess_1", *messages: str) -> dict[str, Any]:
    return {
        "id": session_id,
        "projectId": PROJECT_ID,
        "logs": [
            {"timestamp": 1700723955761.0, "level": "Error", "message": message}
            for message in messages
        ],
    }
