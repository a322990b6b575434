"""A battery of malformed requests: every answer is a JSON ``{"code","message"}``, never a 500."""

from __future__ import annotations

import httpx

from .conftest import png_bytes, upload_assets


async def test_bad_requests_never_500(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    session = await upload_assets(client, storage, pid, {"a.png": png_bytes(1, 1)})
    sid = session["id"]
    p = f"/projects/{pid}"
    requests: list[tuple[str, str, bytes | None]] = [
        ("POST", f"{p}/assetuploadsessions", b"{not json"),
        ("POST", f"{p}/assetuploadsessions", b"[1, 2]"),
        ("POST", f"{p}/assetuploadsessions", b'"string"'),
        ("POST", f"{p}/assetuploadsessions", b'{"assets": "x"}'),
        ("POST", f"{p}/assetuploadsessions", b'{"assets": [null]}'),
        ("POST", f"{p}/assetuploadsessions", b"\xff\xfe\x00"),
        ("POST", f"{p}/assetuploadsessions/{sid}/multipart", b'{"filename": 1}'),
        ("POST", f"{p}/assetuploadsessions/up_nope/multipart", b"{}"),
        ("POST", f"{p}/assetuploadsessions/up_nope:cancel", None),
        ("PUT", f"{p}/multipartassetuploads/mpu_x/parts/abc", None),
        ("PUT", f"{p}/multipartassetuploads/mpu_x/parts/1", None),
        ("POST", f"{p}/multipartassetuploads/mpu_x/parts/1/complete", b'{"responseHeaders": 5}'),
        ("PATCH", f"{p}/assets/a.png", b'{"customMetadata": {"a": {"b": {"c": 1}}}}'),
        ("PATCH", f"{p}/assets/a.png", b'{"status": 5}'),
        ("PATCH", f"{p}/assets/a.png", b'{"groups": "main"}'),
        ("PATCH", f"{p}/assets/a.png", b"null"),
        ("GET", f"{p}/assets/%2E%2E", None),
        ("GET", f"{p}/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd", None),
        ("GET", f"{p}/assets?limit=99999999999999999999", None),
        ("GET", f"{p}/assets?limit=-5", None),
        ("GET", f"{p}/assets?page=%FF%FE&limit=1", None),
        ("GET", f"{p}/assets?page=eDEyMw&limit=1", None),
        ("GET", f"{p}/annotations?limit=1.5", None),
        ("GET", f"{p}/annotations/annot_nope?includeAttributes=true", None),
        ("POST", f"{p}/annotations", b'{"assetId": 1}'),
        (
            "POST",
            f"{p}/annotations",
            b'{"assetId": "x", "tag": "t", "boundType": "Rectangle", "bound": [[0.1, "a"]]}',
        ),
        ("POST", f"{p}/annotations", b'{"frame": true}'),
        ("POST", f"{p}/annotationexports", b'{"format": ["coco"]}'),
        ("POST", f"{p}/annotationexports", b'{"format": "coco", "options": []}'),
        ("POST", f"{p}/annotationexports", b'{"format": "coco", "options": {"seed": "x"}}'),
        ("POST", f"{p}/annotationimportsessions/annotsess_x/files", b"{}"),
        ("PATCH", f"{p}/annotationimportsessions/annotsess_x", b"{}"),
        ("POST", f"{p}/batch/datasets", b'{"name": "x", "spec": 3}'),
        (
            "POST",
            f"{p}/batch/datasets",
            b'{"name": "x", "spec": {"source": {"kind": '
            b'"UploadedNewlineDelimitedJsonFile", "sizeBytes": -1, '
            b'"crc32c": "AAAAAA=="}}}',
        ),
        ("GET", f"{p}/batch/datasets?page=!!", None),
        ("PATCH", f"{p}/workflows/flow_x", b'{"title": null}'),
        (
            "PUT",
            f"{p}/assets/a.png/customMetadatas",
            b'{"parent": {"frame": -1}, "customMetadata": {}}',
        ),
        ("POST", f"{p}/customMetadataBulkUpdates", b'{"customMetadatas": [{"parent": {}}]}'),
        ("POST", f"{p}/customMetadataBulkUpdates/delete", b'{"ids": [1]}'),
        ("DELETE", "/workspace", None),
        ("GET", "/nope", None),
        ("GET", "/projects/%2E%2E/workspace", None),
        (
            "POST",
            "/_emulator/seed",
            b'{"workspaces": [{"projects": [{"assets": [{"filename": '
            b'"x.png", "content_base64": "!!"}]}]}]}',
        ),
        ("POST", "/_emulator/faults", b"[]"),
        ("PUT", "/_storage/ingest/x/0", b"data"),
        ("PUT", "/_storage/ingest/x/0?X-Goog-Expires=abc&X-Goog-Signature=1", b"data"),
        ("GET", "/_storage/%2E%2E/%2E%2E/etc/passwd", None),
    ]
    for method, url, body in requests:
        response = await client.request(method, url, content=body)
        assert response.status_code < 500, (method, url, response.text)
        assert response.status_code >= 400, (method, url, response.text)
        if url.startswith("/_storage/"):
            assert response.text.startswith("<?xml"), (method, url)
        else:
            payload = response.json()
            assert set(payload) == {"code", "message"}, (method, url, payload)
            assert "Traceback" not in payload["message"]
