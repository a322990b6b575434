"""Property tests (hypothesis): path and query encoding survive a round trip through the
emulator, camelCase payloads parse into the snake_case models, CRC-32C encodings invert."""

from __future__ import annotations

import base64
import string
from typing import Any

import anyio
import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_async import Asset, AsyncClient
from nexus_async.emulator import Emulator, create_app
from nexus_async.uploads.checksums import (
    base64_to_crc32c,
    crc32c,
    crc32c_to_base64,
    crc32c_to_signed_int,
    signed_int_to_crc32c,
    x_goog_hash,
)
from tests.media import png_bytes

# Any printable base name: letters of every script, digits, punctuation (# ? & = + % ...),
# symbols and spaces; never a path separator, never "." or "..".
filenames = st.text(
    st.characters(categories=("L", "N", "P", "S", "Zs"), exclude_characters="/\\"),
    min_size=1,
    max_size=40,
).filter(lambda name: name.strip() not in ("", ".", ".."))


@settings(max_examples=60, deadline=None)
@given(name=filenames)
def test_any_filename_round_trips_through_path_and_query(name: str) -> None:
    emulator = Emulator()
    content = base64.b64encode(png_bytes(2, 2)).decode()
    created = emulator.seed(
        {
            "workspaces": [
                {
                    "secret_key": "k",
                    "projects": [{"assets": [{"filename": name, "content_base64": content}]}],
                }
            ]
        }
    )
    project_id = created["workspaces"][0]["projects"][0]["id"]

    async def check() -> None:
        transport = httpx.ASGITransport(app=create_app(emulator=emulator))
        async with (
            httpx.AsyncClient(transport=transport) as http,
            AsyncClient("k", endpoint="http://emulator.test", http_client=http) as client,
        ):
            project = client.get_project(project_id)
            by_path = await project.assets.get(name)
            by_query = await project.assets.list(filters={"filename": name})
            by_id = await project.assets.get(by_path.id)
        assert by_path.filename == name
        assert [asset.filename for asset in by_query] == [name]
        assert by_id.filename == name

    try:
        anyio.run(check)
    finally:
        emulator.close()


metadata_values = st.one_of(
    st.text(max_size=20),
    st.integers(-(2**53), 2**53),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
asset_payloads = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=30),
        "projectId": st.text(min_size=1, max_size=30),
        "filename": st.text(min_size=1, max_size=30),
        "status": st.sampled_from(
            ["None", "Annotated", "Review", "Completed", "Tofix", "Custom Status"]
        ),
        "createDate": st.integers(0, 2**45),
        "url": st.text(max_size=30),
        "metadata": st.fixed_dictionaries(
            {
                "fileSize": st.integers(0, 2**40),
                "mimeType": st.sampled_from(["image/png", "video/mp4", "application/x-nifti"]),
                "height": st.integers(0, 10**5),
                "width": st.integers(0, 10**5),
                "groups": st.lists(st.text(min_size=1, max_size=10), max_size=4),
                "customMetadata": st.dictionaries(
                    st.text(string.ascii_letters, min_size=1, max_size=8),
                    metadata_values,
                    max_size=5,
                ),
            }
        ),
    },
    optional={"object": st.just("asset"), "somethingNew": st.integers()},
)


@given(payload=asset_payloads)
def test_camel_case_payloads_parse_into_snake_case_models(payload: dict[str, Any]) -> None:
    asset = Asset.model_validate(payload)
    assert asset.project_id == payload["projectId"] == asset["projectId"] == asset["project_id"]
    assert asset.create_date == payload["createDate"]
    assert asset.metadata.file_size == payload["metadata"]["fileSize"]
    assert asset.metadata.mime_type == payload["metadata"]["mimeType"]
    assert asset.metadata.custom_metadata == payload["metadata"]["customMetadata"]
    wire = asset.to_dict(by_alias=True)
    for key, value in payload.items():
        if key != "metadata":
            assert wire[key] == value  # unknown fields are kept too
    assert wire["metadata"] == payload["metadata"]


@given(data=st.binary(max_size=4096), split=st.integers(0, 4096))
def test_crc32c_encodings_invert_and_compose(data: bytes, split: int) -> None:
    digest = crc32c(data)
    signed = crc32c_to_signed_int(digest)
    assert -(2**31) <= signed < 2**31
    assert signed_int_to_crc32c(signed) == digest
    encoded = crc32c_to_base64(digest)
    assert len(encoded) == 8
    assert encoded.endswith("==")
    assert base64.b64decode(encoded) == digest.to_bytes(4, "big")
    assert base64_to_crc32c(encoded) == digest
    assert x_goog_hash(digest) == f"crc32c={encoded}"
    head, tail = data[:split], data[split:]
    assert crc32c(tail, initial=crc32c(head)) == digest  # incremental hashing composes
