"""Batch dataset creation with respx: local NDJSON checks (line numbers), the exact POST body of
nexus-api.md §11.1, the transfer with exactly the returned headers, and cleanup on failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
import respx

import nexus_async
from nexus_async import Project
from nexus_async.uploads.checksums import crc32c, crc32c_to_base64
from nexus_async.uploads.dataset_upload import describe_ndjson
from tests.unit import payloads
from tests.unit.conftest import BASE_URL

D = f"{BASE_URL}/projects/{payloads.PROJECT_ID}/batch/datasets"
UPLOAD_URL = "https://storage.test/datasets/dataset_1.ndjson?token=s3cr3t"
ITEMS = (
    b'{"kind": "Image", "url": "https://signed.url/image1.jpg"}\n'
    b"\n"
    b'{"kind": "Image", "url": "https://signed.url/image2.jpg"}\n'
)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """One router for the API and storage hosts."""
    with respx.mock(assert_all_called=False) as router:
        yield router


def created(size: int, crc: str) -> dict[str, object]:
    body = payloads.dataset("Waiting")
    body["status"]["source"]["uploadUrl"] = {  # type: ignore[index]
        "method": "PUT",
        "url": UPLOAD_URL,
        "headers": {
            "content-length": str(size),
            "x-goog-hash": f"crc32c={crc}",
            "x-goog-meta-datature-dataset-link": "dataset_1",
            "x-goog-if-generation-match": "0",
            "content-type": "application/x-ndjson",
        },
        "expiresAtTime": 1723740318174,
    }
    return body


async def test_create_posts_the_exact_body_and_sends_the_file_with_the_issued_headers(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    path = tmp_path / "items.ndjson"
    path.write_bytes(ITEMS)
    crc = crc32c_to_base64(crc32c(ITEMS))
    create = api.post(D).respond(json=created(len(ITEMS), crc))
    put = api.put(UPLOAD_URL).respond(200)

    dataset = await project.batch.datasets.create(name="ds", dataset_path=path)

    assert (
        create.calls.last.request.content
        == (
            '{"name": "ds", "spec": {"source": {"kind": "UploadedNewlineDelimitedJsonFile", '
            f'"sizeBytes": {len(ITEMS)}, "crc32c": "{crc}"}}}}}}'
        ).encode()
    )
    request = put.calls.last.request
    assert request.content == ITEMS
    for name, value in created(len(ITEMS), crc)["status"]["source"]["uploadUrl"][  # type: ignore[index]
        "headers"
    ].items():
        assert request.headers[name] == value
    assert "secret-key" not in request.headers
    assert dataset.id == "dataset_1"
    assert dataset.status.overview == "Waiting"  # the creation response, not re-fetched


async def test_a_failed_transfer_deletes_the_new_dataset_and_raises(
    api: respx.MockRouter, project: Project, tmp_path: Path, sleeps: list[float]
) -> None:
    path = tmp_path / "items.ndjson"
    path.write_bytes(ITEMS)
    api.post(D).respond(json=created(len(ITEMS), crc32c_to_base64(crc32c(ITEMS))))
    api.put(UPLOAD_URL).respond(412, text="<Error><Code>ConditionNotMet</Code></Error>")
    delete = api.delete(f"{D}/dataset_1").respond(json={"deleted": True, "id": "dataset_1"})
    with pytest.raises(nexus_async.StorageError, match="412") as caught:
        await project.batch.datasets.create(name="ds", dataset_path=path)
    assert caught.value.status_code == 412
    assert delete.call_count == 1


async def test_a_size_the_server_did_not_announce_is_refused_before_sending(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    path = tmp_path / "items.ndjson"
    path.write_bytes(ITEMS)
    api.post(D).respond(json=created(len(ITEMS) + 1, "AAAAAA=="))
    put = api.put(UPLOAD_URL).respond(200)
    delete = api.delete(f"{D}/dataset_1").respond(json={"deleted": True, "id": "dataset_1"})
    with pytest.raises(nexus_async.InvalidInputError, match="expects"):
        await project.batch.datasets.create(name="ds", dataset_path=path)
    assert not put.called
    assert delete.called


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (ITEMS + b"{not json}\n", r"line 4 is not valid JSON"),
        (ITEMS + b'"a string"\n', r"line 4 is a JSON str, not an object"),
        (b"\n" + b"[1]\n", r"line 2 is a JSON list"),
        (b'{"a": 1}\n\xff\xfe\n', r"line 2 is not UTF-8"),
        (b"\n \n", r"holds no items"),
        (b"", r"holds no items"),
    ],
)
async def test_bad_ndjson_is_refused_with_the_line_number_before_any_request(
    api: respx.MockRouter, project: Project, tmp_path: Path, content: bytes, match: str
) -> None:
    path = tmp_path / "items.ndjson"
    path.write_bytes(content)
    with pytest.raises(nexus_async.InvalidInputError, match=match):
        await project.batch.datasets.create(name="ds", dataset_path=path)
    assert not api.calls


async def test_paths_that_are_not_ndjson_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "items.json").write_bytes(ITEMS)
    (tmp_path / "dir.ndjson").mkdir()
    with pytest.raises(nexus_async.InvalidInputError, match=r"must end in \.ndjson"):
        await describe_ndjson(tmp_path / "items.json")
    with pytest.raises(nexus_async.InvalidInputError, match="not a regular file"):
        await describe_ndjson(tmp_path / "dir.ndjson")
    with pytest.raises(nexus_async.InvalidInputError, match="No such file"):
        await describe_ndjson(tmp_path / "missing.ndjson")


async def test_the_description_matches_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "Items.NDJSON"
    path.write_bytes(ITEMS)
    file = await describe_ndjson(path)
    assert (file.size, file.crc32c, file.filename) == (len(ITEMS), crc32c(ITEMS), "Items.NDJSON")
    assert json.loads(ITEMS.splitlines()[0])["kind"] == "Image"


async def test_a_cancellation_during_creation_deletes_the_created_dataset(
    api: respx.MockRouter, project: Project, tmp_path: Path
) -> None:
    path = tmp_path / "items.ndjson"
    path.write_bytes(ITEMS)
    put = api.put(UPLOAD_URL).respond(200)
    delete = api.delete(f"{D}/dataset_1").respond(json={"deleted": True, "id": "dataset_1"})
    with anyio.CancelScope() as scope:

        def cancel_then_answer(request: httpx.Request) -> httpx.Response:
            scope.cancel()
            return httpx.Response(200, json=created(len(ITEMS), crc32c_to_base64(crc32c(ITEMS))))

        api.post(D).mock(side_effect=cancel_then_answer)
        await project.batch.datasets.create(name="ds", dataset_path=path)
    assert scope.cancelled_caught
    assert not put.called
    assert delete.call_count == 1
