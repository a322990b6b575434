"""The emulator's hot-path shortcuts give exactly what the generic code gives."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import httpx
import pytest

from nexus_async.emulator import Emulator
from nexus_async.emulator.errors import ApiError
from nexus_async.emulator.state.base import require_filename
from nexus_async.emulator.state.models import UploadSession
from tests.emulator.conftest import BASE
from tests.media import png_bytes


def _generic(emulator: Emulator, session: UploadSession, origin: str) -> list[dict[str, Any]]:
    """The session's items as the generic signer and serialiser render them."""
    out = []
    for item in session.items:
        target = emulator.state.upload_target(session, item)
        out.append(
            {
                "metadata": {
                    "filename": item.filename,
                    "mime": item.mime,
                    "size": item.size,
                    "crc32c": item.crc32c,
                },
                "upload": {
                    "method": target.method,
                    "url": origin + emulator.signer.sign(target),
                    "headers": dict(target.headers),
                    "expiryDate": target.expires_ms,
                },
            }
        )
    return out


async def test_session_json_equals_the_generic_rendering(
    client: httpx.AsyncClient, storage: httpx.AsyncClient, pid: str, emulator: Emulator
) -> None:
    assets = [
        {"filename": "plain.png", "size": 10, "crc32c": -5, "mime": "image/png"},
        {"filename": "zero-crc.jpg", "size": 7, "crc32c": 0, "mime": "image/jpeg"},
        {"filename": 'qu"ote é ☃ %2F.png', "size": 3, "crc32c": 2**31 - 1, "mime": "image/png"},
    ]
    response = await client.post(f"/projects/{pid}/assetuploadsessions", json={"assets": assets})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    session = emulator.state.store.upload_sessions[body["id"]]
    assert body["object"] == "asset_upload_session"
    assert body["opId"] == session.op_id
    assert body["assets"] == _generic(emulator, session, BASE)
    assert json.loads(response.content) == body
    data = png_bytes(2, 2)
    fresh = {
        "assets": [{"filename": "up.png", "size": len(data), "crc32c": 0, "mime": "image/png"}]
    }
    created = (await client.post(f"/projects/{pid}/assetuploadsessions", json=fresh)).json()
    upload = created["assets"][0]["upload"]
    stored = await storage.put(upload["url"], headers=upload["headers"], content=data)
    assert stored.status_code == 200


def test_the_control_character_check_is_unicode_category_cc() -> None:
    for code in [*range(0x3000), 0xFEFF, 0x10FFFF]:
        name = f"a{chr(code)}b.png"
        is_control = unicodedata.category(chr(code)) == "Cc"
        if is_control or code in (0x2F, 0x5C):  # "/" and "\\" are refused as directory parts
            with pytest.raises(ApiError):
                require_filename({"filename": name})
        else:
            assert require_filename({"filename": name}) == name
