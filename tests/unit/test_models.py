"""Models: every JSON example of the wire spec parses; snake_case, camelCase and item access."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic
import pytest

from nexus_async import Asset, Dataset, Page, ProjectInfo, Workflow, Workspace
from nexus_async.types.annotations import Annotation
from nexus_async.types.assets import AssetGroup
from nexus_async.types.exports import ExportedAnnotations
from nexus_async.types.imports import ImportSession, ImportSessionLog, InsertImportSessionFiles
from nexus_async.types.operations import Operation
from nexus_async.types.uploads import (
    MultipartAbortResponse,
    MultipartCompleteResponse,
    MultipartPartStatus,
    MultipartUploadSession,
    MultipartUploadSignedUrl,
    UploadSession,
)
from tests.fixtures.extract_spec_examples import extract
from tests.unit import payloads

FIXTURES = Path(__file__).parent.parent / "fixtures"
SPEC = Path(__file__).parents[3] / "shared" / "nexus-api.md"

MODELS: dict[str, Any] = {
    "Workspace": Workspace,
    "Project": ProjectInfo,
    "Asset": Asset,
    "AssetPage": Page[Asset],
    "AssetGroups": list[AssetGroup],
    "UploadSession": UploadSession,
    "MultipartUploadSession": MultipartUploadSession,
    "MultipartUploadSignedUrl": MultipartUploadSignedUrl,
    "MultipartPartStatus": MultipartPartStatus,
    "MultipartCompleteResponse": MultipartCompleteResponse,
    "MultipartAbortResponse": MultipartAbortResponse,
    "Operation": Operation,
    "AnnotationPage": Page[Annotation],
    "Annotation": Annotation,
    "ExportedAnnotations": ExportedAnnotations,
    "ImportSession": ImportSession,
    "InsertImportSessionFiles": InsertImportSessionFiles,
    "ImportSessionLog": ImportSessionLog,
    "Dataset": Dataset,
    "DatasetPage": Page[Dataset],
    "Workflows": list[Workflow],
}
# The custom-metadata record endpoints (§5.7) serve only the official 1.12.2 client's own calls;
# the documented API sets custom metadata through uploads and asset updates instead.
NOT_IN_SDK_SCOPE = {"AssetCustomMetadatas"}

EXAMPLES = json.loads((FIXTURES / "spec_examples.json").read_text())


@pytest.mark.skipif(not SPEC.exists(), reason="the shared spec is not beside the checkout")
def test_fixture_is_in_sync_with_the_spec() -> None:
    assert extract(SPEC.read_text()) == EXAMPLES


def test_every_spec_example_has_a_model() -> None:
    assert {example["model"] for example in EXAMPLES} == set(MODELS) | NOT_IN_SDK_SCOPE


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if e["model"] in MODELS],
    ids=lambda e: e["model"],
)
def test_every_spec_example_parses(example: dict[str, Any]) -> None:
    parsed = pydantic.TypeAdapter(MODELS[example["model"]]).validate_python(example["json"])
    assert parsed


def test_snake_case_camel_case_and_item_access() -> None:
    asset = Asset.model_validate(payloads.asset())
    assert asset.project_id == payloads.PROJECT_ID
    assert asset["project_id"] == asset["projectId"] == asset.get("projectId") == asset.project_id
    assert asset.metadata.file_size == 186497
    assert asset["metadata"]["mime_type"] == "image/png"
    assert asset.metadata.custom_metadata == {"captureAt": "2021-03-10T09:00:00Z"}
    assert "filename" in asset
    assert "nope" not in asset
    assert asset.get("nope", "default") == "default"
    with pytest.raises(KeyError):
        asset["nope"]


def test_unknown_fields_are_kept() -> None:
    asset = Asset.model_validate(payloads.asset(newField={"x": 1}))
    assert asset["object"] == "asset"
    assert asset["newField"] == {"x": 1}
    assert "object" in dict(asset)


def test_operation_counters_keep_their_wire_names() -> None:
    op = Operation.model_validate(payloads.operation("Running"))
    counts = op.status.progress.with_status
    assert (counts.Queued, counts.Running, counts.Finished) == (0, 1, 0)
    assert op["status"]["progress"]["with_status"]["Running"] == 1


def test_absent_optional_fields_are_none() -> None:
    data = payloads.annotation()
    del data["createDate"]
    annotation = Annotation.model_validate(data)
    assert annotation.create_date is None
    assert annotation.attributes is None


def test_page_behaves_like_the_official_pagination_response() -> None:
    page = Page[Asset].model_validate(payloads.page([payloads.asset()], next_page="abc"))
    assert page["next_page"] == page.next_page == "abc"
    assert page.prev_page is None
    assert len(page) == 1
    assert [a.id for a in page] == ["asset_1"]
    assert page.data[0].metadata.width == 400


def test_to_dict_gives_plain_data() -> None:
    workflow = Workflow.model_validate(payloads.workflow())
    assert workflow.to_dict()["project_id"] == payloads.PROJECT_ID
    assert workflow.to_dict(by_alias=True)["projectId"] == payloads.PROJECT_ID


def test_responses_serialise_snake_case_everywhere_and_wire_names_on_request() -> None:
    raw = payloads.asset(
        metadata={**payloads.asset()["metadata"], "customMetadata": {"capture_at": "x"}}
    )
    asset = Asset.model_validate(raw)
    assert "project_id" in asset.model_dump()
    assert "project_id" in asset.model_dump(by_alias=True)  # what FastAPI's response_model does
    assert json.loads(asset.model_dump_json(by_alias=True))["metadata"]["file_size"] > 0
    wire = asset.to_dict(by_alias=True)
    assert wire["projectId"] == raw["projectId"]
    assert wire["metadata"]["fileSize"] == raw["metadata"]["fileSize"]
    assert wire["metadata"]["customMetadata"] == {"capture_at": "x"}  # user keys untouched
    assert asset.to_dict()["metadata"]["custom_metadata"] == {"capture_at": "x"}


def test_wire_names_keep_digits_as_the_wire_spells_them() -> None:
    from nexus_async._models import wire_name
    from nexus_async.types.uploads import UploadSessionAssetMetadata

    assert wire_name("crc32c") == "crc32c"
    assert wire_name("part_count") == "partCount"
    metadata = UploadSessionAssetMetadata(filename="a.png", mime="image/png", size=1, crc32c=-5)
    assert metadata.to_dict(by_alias=True)["crc32c"] == -5
    assert metadata["crc32c"] == -5


async def test_a_fastapi_endpoint_returns_sdk_models_in_snake_case() -> None:
    import httpx
    from fastapi import FastAPI

    app = FastAPI()
    asset = Asset.model_validate(payloads.asset())

    @app.get("/asset", response_model=Asset)
    async def read() -> Asset:
        return asset

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        body = (await http.get("/asset")).json()
    assert body["project_id"] == asset.project_id
    assert "projectId" not in body


def test_documented_aliases_asset_project_and_page_previous_page() -> None:
    asset = Asset.model_validate(payloads.asset())
    assert asset.project == asset["project"] == asset.project_id
    page = Page[Asset].model_validate({"nextPage": None, "prevPage": "c1", "data": []})
    assert page.previous_page == page["previous_page"] == "c1"
