"""Deterministic fuzzing: random JSON bodies and query strings never produce a 500."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx

from .conftest import png_bytes, upload_assets

KEYS = [
    "assets",
    "groups",
    "filename",
    "size",
    "crc32c",
    "mime",
    "customMetadata",
    "status",
    "name",
    "title",
    "assetId",
    "tag",
    "boundType",
    "bound",
    "frame",
    "format",
    "options",
    "splitRatio",
    "seed",
    "normalized",
    "files",
    "spec",
    "source",
    "kind",
    "sizeBytes",
    "conditions",
    "condition",
    "parent",
    "ids",
    "customMetadatas",
    "responseHeaders",
    "attributes",
    "aggregation",
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, 5000, 10**30])
    if choice == 3:
        return rng.choice([0.5, -0.0, 1e308, 1.5])
    if choice == 4:
        return rng.choice(["", "a.png", "image/png", "Rectangle", "main", "..", "x" * 300])
    if choice == 5:
        return rng.choice(["FilesInserted", "Reached", "csv_fourcorner", "None", "%2e"])
    if choice == 6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS): _value(rng, depth + 1) for _ in range(rng.randrange(5))}


async def test_random_bodies_and_queries_never_500(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str
) -> None:
    session = await upload_assets(client, storage, pid, {"a.png": png_bytes(2, 2)})
    imports = (await client.post(f"/projects/{pid}/annotationimportsessions")).json()
    p = f"/projects/{pid}"
    targets = [
        ("PATCH", p),
        ("PATCH", f"{p}/assets/a.png"),
        ("PUT", f"{p}/assets/a.png/customMetadatas"),
        ("POST", f"{p}/customMetadataBulkUpdates"),
        ("POST", f"{p}/customMetadataBulkUpdates/delete"),
        ("POST", f"{p}/assetuploadsessions"),
        ("POST", f"{p}/assetuploadsessions/{session['id']}/multipart"),
        ("POST", f"{p}/annotations"),
        ("POST", f"{p}/annotationexports"),
        ("POST", f"{p}/annotationimportsessions/{imports['id']}/files"),
        ("PATCH", f"{p}/annotationimportsessions/{imports['id']}"),
        ("POST", f"{p}/batch/datasets"),
        ("POST", "/_emulator/seed"),
        ("POST", "/_emulator/faults"),
    ]
    queries = [
        "page",
        "limit",
        "group[]",
        "filename",
        "status",
        "filter",
        "assetId[]",
        "includeAttributes",
    ]
    rng = random.Random(1234)
    for _ in range(40):
        for method, url in targets:
            body = _value(rng)
            response = await client.request(method, url, content=json.dumps(body))
            assert response.status_code < 500, (method, url, body, response.text)
            if response.status_code >= 400:
                assert set(response.json()) == {"code", "message"}, (url, body)
        await client.delete("/_emulator/faults")
        query = "&".join(
            f"{rng.choice(queries)}={rng.choice(['', '0', 'x', '%ZZ', '+'])}" for _ in range(3)
        )
        for url in (f"{p}/assets", f"{p}/annotations", f"{p}/batch/datasets"):
            response = await client.get(f"{url}?{query}")
            assert response.status_code < 500, (url, query, response.text)
