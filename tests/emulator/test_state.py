"""Unit tests of the pure layers: lifecycle, pagination, ids, signing, images, formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_async.emulator import EmulatorConfig, ManualClock
from nexus_async.emulator.blobs import BlobStore, SignedTarget, UrlSigner
from nexus_async.emulator.config import RateLimitConfig, TimingConfig
from nexus_async.emulator.errors import ApiError
from nexus_async.emulator.formats import AssetInfo, parse_coco, parse_csv_fourcorner
from nexus_async.emulator.ids import decode_cursor, encode_cursor
from nexus_async.emulator.images import image_size
from nexus_async.emulator.state import EmulatorState
from nexus_async.emulator.state.lifecycle import WorkItem, count_states, item_state, overview

from .conftest import jpeg_bytes, png_bytes

TIMING = TimingConfig(queue_ms=100, processing_ms=1000)


@pytest.fixture
def state(tmp_path: Path, clock: ManualClock) -> EmulatorState:
    config = EmulatorConfig(rate_limit=RateLimitConfig(max_sessions=2, window_ms=10_000))
    return EmulatorState(config, clock, BlobStore(tmp_path))


def test_item_moves_queued_running_finished() -> None:
    item = WorkItem(ready_at=1000)
    assert item_state(item, 1050, TIMING) == "Queued"
    assert item_state(item, 1100, TIMING) == "Running"
    assert item_state(item, 2099, TIMING) == "Running"
    assert item_state(item, 2100, TIMING) == "Finished"
    assert item_state(WorkItem(1000, errored=True), 2100, TIMING) == "Errored"


def test_item_never_ready_is_cancelled_or_expires() -> None:
    item = WorkItem(ready_at=None)
    assert item_state(item, 5, TIMING) == "Queued"
    assert item_state(item, 5, TIMING, cancelled_at=4) == "Cancelled"
    assert item_state(item, 5, TIMING, expires_at=5) == "Errored"


def test_overview_rules() -> None:
    assert overview(count_states(["Queued", "Queued"]), cancelled=False) == "Queued"
    assert overview(count_states(["Queued", "Finished"]), cancelled=False) == "Running"
    assert overview(count_states(["Finished", "Errored"]), cancelled=False) == "Errored"
    assert overview(count_states(["Finished"]), cancelled=False) == "Finished"
    assert overview(count_states(["Queued"]), cancelled=True) == "Cancelled"
    assert count_states([]) == {
        "Queued": 0,
        "Running": 0,
        "Finished": 0,
        "Cancelled": 0,
        "Errored": 0,
    }


def test_cursor_round_trip_and_real_format() -> None:
    cursor = encode_cursor("f", 0x64A7BA2470358E09CDCCC68F)
    assert cursor == "ZjY0YTdiYTI0NzAzNThlMDljZGNjYzY4Zg"
    assert decode_cursor(cursor) == ("f", 0x64A7BA2470358E09CDCCC68F)
    for bad in ("!!!", "Zm9v", "YjEyMw"):
        with pytest.raises(ApiError) as info:
            decode_cursor(bad)
        assert info.value.status == 400


def test_paginate_forward_and_back(state: EmulatorState) -> None:
    items = list(range(1, 8))
    first = state.paginate(items, lambda i: i, None, 3)
    assert first.items == [1, 2, 3]
    assert first.prev_page is None
    second = state.paginate(items, lambda i: i, first.next_page, 3)
    assert second.items == [4, 5, 6]
    back = state.paginate(items, lambda i: i, second.prev_page, 3)
    assert back.items == [1, 2, 3]
    last = state.paginate(items, lambda i: i, second.next_page, 3)
    assert last.items == [7]
    assert last.next_page is None
    with pytest.raises(ApiError):
        state.paginate(items, lambda i: i, None, 0)
    with pytest.raises(ApiError):
        state.paginate(items, lambda i: i, None, 1001)


def test_rate_limit_sliding_window(state: EmulatorState, clock: ManualClock) -> None:
    _workspace, project = state.seed_default()
    body = {"assets": [{"filename": "a.png", "size": 1, "crc32c": 0, "mime": "image/png"}]}
    state.create_upload_session(project, body)
    clock.advance(4000)
    state.create_upload_session(project, body)
    with pytest.raises(ApiError) as info:
        state.create_upload_session(project, body)
    assert info.value.status == 429
    assert info.value.headers["Retry-After"] == "6"
    clock.advance(6001)
    state.create_upload_session(project, body)


def test_custom_metadata_validation(state: EmulatorState) -> None:
    assert state.validate_custom_metadata({"a": 1, "b": "x", "c": True, "d": 1.5})
    for bad in ({"a": {"nested": 1}}, {"a": [1]}, {"a": None}, ["x"], {"k": "v" * 5000}):
        with pytest.raises(ApiError) as info:
            state.validate_custom_metadata(bad)
        assert info.value.status == 400


def test_signer_detects_tampering_expiry_and_headers() -> None:
    signer = UrlSigner(b"secret")
    target = SignedTarget("PUT", "/_storage/x/1", {"content-type": "image/png"}, 2000)
    signed = signer.sign(target)
    query = dict(part.split("=", 1) for part in signed.split("?", 1)[1].split("&"))
    query["X-Goog-SignedHeaders"] = "content-type"
    headers = {"content-type": "image/png"}
    assert signer.verify("PUT", "/_storage/x/1", query, headers, 1000) is None
    assert signer.verify("PUT", "/_storage/x/1", query, headers, 2001) == "ExpiredToken"
    assert signer.verify("POST", "/_storage/x/1", query, headers, 1000) == "SignatureDoesNotMatch"
    assert signer.verify("PUT", "/_storage/x/2", query, headers, 1000) == "SignatureDoesNotMatch"
    wrong = {"content-type": "image/jpeg"}
    assert signer.verify("PUT", "/_storage/x/1", query, wrong, 1000) == "SignatureDoesNotMatch"
    assert signer.verify("PUT", "/_storage/x/1", {}, headers, 1000) == "AccessDenied"


def test_image_sizes(tmp_path: Path) -> None:
    png = tmp_path / "a.png"
    png.write_bytes(png_bytes(400, 243))
    jpg = tmp_path / "a.jpg"
    jpg.write_bytes(jpeg_bytes(640, 480))
    other = tmp_path / "a.bin"
    other.write_bytes(b"not an image")
    assert image_size(png) == (400, 243)
    assert image_size(jpg) == (640, 480)
    assert image_size(other) == (0, 0)
    assert image_size(tmp_path / "missing") == (0, 0)


def _lookup(name: str) -> AssetInfo | None:
    return AssetInfo("asset_1", name, 400, 243) if name == "boat.png" else None


def test_csv_fourcorner_parse_errors_have_line_numbers() -> None:
    data = (
        b"filename,xmin,ymin,xmax,ymax,label\n"
        b"boat.png,10,20,100,200,boat\n"
        b"boat.png,0.1,0.1,0.5,0.5,boat\n"
        b"boat.png,10,10,259.0,259.0,boat\n"
        b"nope.png,1,1,2,2,boat\n"
    )
    result = parse_csv_fourcorner("test_annotations2.csv", data, _lookup)
    assert result.found == 4
    assert len(result.annotations) == 2
    assert result.annotations[0].bound[0] == [10 / 400, 20 / 243]
    assert result.errors[0] == (
        "At test_annotations2.csv:4: Point 259.0, 259.0 is out of bounds.\n\n"
        "Hint: The asset for this annotation has dimensions 400 x 243 pixels."
    )
    assert result.errors[1].startswith("At test_annotations2.csv:5: Asset nope.png")


def test_coco_parse() -> None:
    doc = (
        b'{"images":[{"id":1,"file_name":"boat.png"}],"categories":[{"id":3,"name":"boat"}],'
        b'"annotations":[{"image_id":1,"category_id":3,"bbox":[40,24.3,40,24.3]},'
        b'{"image_id":9,"category_id":3,"bbox":[0,0,1,1]}]}'
    )
    result = parse_coco("a.json", doc, _lookup)
    assert [a.tag for a in result.annotations] == ["boat"]
    assert result.annotations[0].bound[2] == pytest.approx([0.2, 0.2])
    assert len(result.errors) == 1
    assert parse_coco("b.json", b"[]", _lookup).errors
