"""The emulator refuses what a real Nexus must refuse, over real HTTP.

Also covered elsewhere: a wrong key and another workspace's project
(tests/e2e/test_core_calls.py::test_wrong_key_and_other_workspaces_are_forbidden), tampered
and expired signed URLs (tests/emulator/test_uploads.py), zip-slip export entries
(tests/e2e/test_annotations_io.py).
"""

from __future__ import annotations

import httpx
import pytest

import nexus_async
from nexus_async import Project
from nexus_async.testing import EmulatorServer
from nexus_async.uploads.checksums import crc32c, crc32c_to_signed_int
from tests.media import png_bytes

DATA = png_bytes(3, 3)


def session_body(filename: str) -> dict[str, object]:
    item = {"filename": filename, "size": len(DATA), "crc32c": crc32c_to_signed_int(crc32c(DATA))}
    return {"groups": ["main"], "assets": [{**item, "mime": "image/png"}]}


async def test_a_completed_sessions_url_cannot_be_replayed(server: EmulatorServer) -> None:
    headers = {"Secret-Key": server.secret_key}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as api:
        created = await api.post(
            f"/projects/{server.project_id}/assetuploadsessions", json=session_body("a.png")
        )
        upload = created.json()["assets"][0]["upload"]
    async with httpx.AsyncClient() as storage:
        first = await storage.request(
            upload["method"], upload["url"], headers=upload["headers"], content=DATA
        )
        replay = await storage.request(
            upload["method"], upload["url"], headers=upload["headers"], content=DATA
        )
    assert first.status_code == 200
    assert replay.status_code == 403
    assert b"AccessDenied" in replay.content


@pytest.mark.parametrize(
    "filename", ["../evil.png", "a/b.png", "..", "/etc/passwd.png", "a\\..\\b.png"]
)
async def test_path_traversal_in_filenames_is_refused_by_the_server(
    server: EmulatorServer, filename: str
) -> None:
    headers = {"Secret-Key": server.secret_key}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as api:
        answer = await api.post(
            f"/projects/{server.project_id}/assetuploadsessions", json=session_body(filename)
        )
    assert answer.status_code == 400
    assert answer.json()["code"] == "BadRequestError"
    assert server.control.stats()["created"]["upload_sessions"] == 0


@pytest.mark.parametrize(
    "filename", ["a\x00b.png", "a\nb.png", "a\rb.png", "\x1b[31mred.png", "a\x7f.png"]
)
async def test_control_characters_in_filenames_are_refused_by_the_server(
    server: EmulatorServer, filename: str
) -> None:
    headers = {"Secret-Key": server.secret_key}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as api:
        upload = await api.post(
            f"/projects/{server.project_id}/assetuploadsessions", json=session_body(filename)
        )
        imported = await api.post(f"/projects/{server.project_id}/annotationimportsessions")
        added = await api.post(
            f"/projects/{server.project_id}/annotationimportsessions/{imported.json()['id']}/files",
            json={"files": [{"filename": filename, "size": 3, "crc32c": "AAAAAA=="}]},
        )
    for answer in (upload, added):
        assert answer.status_code == 400, answer.text
        assert "control characters" in answer.json()["message"]
    assert server.control.stats()["created"]["upload_sessions"] == 0


@pytest.mark.parametrize("filename", ["../evil.png", "a/b.png", "..", "/etc/passwd.png"])
async def test_path_traversal_in_filenames_is_refused_by_the_sdk_first(
    project: Project, server: EmulatorServer, filename: str
) -> None:
    with pytest.raises(nexus_async.InvalidInputError):
        async with project.assets.create_upload_session() as session:
            await session.add_bytes(DATA, filename)
    assert server.control.stats()["created"]["upload_sessions"] == 0


@pytest.mark.parametrize(
    "path",
    ["/_storage/../../etc/passwd", "/_storage/ingest/%2e%2e/%2e%2e/x", "/_storage/%2F..%2Fx"],
)
async def test_storage_paths_with_dot_dot_are_refused(server: EmulatorServer, path: str) -> None:
    async with httpx.AsyncClient() as storage:
        answer = await storage.put(server.base_url + path, content=DATA)
    assert answer.status_code in (403, 404)
    assert server.control.stats()["storage"]["bytes_received"] == 0
