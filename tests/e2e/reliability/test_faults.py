"""A bulk upload through storage and API faults completes, and loses or duplicates nothing.

Faults (driven through the emulator's control plane, reproducible by seed):

* storage PUTs: ~10 % of attempts fail: 500, 503, dropped connections, 50-500 ms latency;
* API calls: 5 % of GETs answer 500, 5 % of all calls 503 with Retry-After;
* session creation answers 429 with Retry-After 30 % of the time.

A plain 500 on a POST is left out on purpose: the SDK cannot know whether the server acted on
it, so it does not retry it (no duplicate creates); tests/e2e/reliability/test_no_duplicates.py
covers that side.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_async import Project, UploadError
from nexus_async.testing import EmulatorServer
from tests.e2e.reliability.conftest import BULK_FILES
from tests.media import write_image_tree

API = "^/(projects|workspace)"
FAULTS = [
    {"route": "storage", "status": 500, "error_rate": 0.03, "seed": 11},
    {"route": "storage", "status": 503, "error_rate": 0.03, "seed": 12},
    {"route": "storage", "drop": True, "error_rate": 0.02, "seed": 13},
    {"route": "storage", "latency_ms": [50, 500], "error_rate": 0.02, "seed": 14},
    {"method": "GET", "path": API, "status": 500, "error_rate": 0.05, "seed": 15},
    {"path": "^/projects/", "status": 503, "retry_after": 1, "error_rate": 0.05, "seed": 16},
    {"route": "upload_session_create", "status": 429, "retry_after": 2, "error_rate": 0.3},
]


async def test_bulk_upload_through_faults_stores_every_file_exactly_once(
    tmp_path: Path, project: Project, server: EmulatorServer, sleeps: list[float]
) -> None:
    sizes = write_image_tree(tmp_path, BULK_FILES, depth=2)
    batch = max(BULK_FILES // 4, 1)
    for rule in FAULTS:
        server.control.add_fault(rule)

    upload = project.assets.create_upload_session(batch_size=batch, max_concurrency=32)
    async with upload as session:
        await session.add_path(tmp_path)

    server.control.clear_faults()
    stored = {a.filename: a.metadata.file_size async for a in project.assets.iter(limit=1000)}
    stats = server.control.stats()
    assert stored == sizes  # every file, with its exact size
    assert stats["assets_stored"] == BULK_FILES  # and nothing else, nothing twice
    assert stats["created"]["upload_sessions"] == len(session.get_operation_ids())
    assert stats["open_upload_sessions"] == 0
    assert stats["storage"]["checksum_failures"] == 0
    assert stats["storage"]["size_mismatches"] == 0
    assert stats["faults"]["triggered"] > BULK_FILES // 20  # the faults really happened


IMPORT_FAULTS = [
    {"route": "storage", "status": 503, "error_rate": 0.1, "seed": 21},
    {"route": "storage", "drop": True, "error_rate": 0.03, "seed": 22},
    {"method": "GET", "path": API, "status": 500, "error_rate": 0.05, "seed": 23},
    {"path": "^/projects/", "status": 503, "retry_after": 1, "error_rate": 0.05, "seed": 24},
]


async def test_annotation_import_through_faults_commits_every_box_exactly_once(
    tmp_path: Path, project: Project, server: EmulatorServer, sleeps: list[float]
) -> None:
    images = write_image_tree(tmp_path / "images", 50, depth=0)
    async with project.assets.create_upload_session() as session:
        await session.add_path(tmp_path / "images")
    labels = tmp_path / "labels"
    labels.mkdir()
    for index, name in enumerate(sorted(images)):  # one CSV file per image, two boxes each
        rows = [f"{name},1,1,8,8,boat", f"{name},2,2,9,19,cat"]
        (labels / f"boxes{index:03d}.csv").write_text(
            "filename,xmin,ymin,xmax,ymax,label\n" + "\n".join(rows) + "\n"
        )
    for rule in IMPORT_FAULTS:
        server.control.add_fault(rule)

    async with project.annotations.create_import_session() as imports:
        await imports.add_path(labels)

    server.control.clear_faults()
    annotations = [a async for a in project.annotations.iter(limit=1000)]
    assert len(annotations) == 2 * len(images)  # every box, none twice
    assert len({(a.tag, a.asset_id) for a in annotations}) == 2 * len(images)
    assert (await imports.get_logs()).logs == []
    stats = server.control.stats()
    assert stats["created"]["import_sessions"] == 1
    assert stats["faults"]["triggered"] > 5


async def test_a_lost_answer_to_the_last_put_of_a_session_is_not_a_failure(
    tmp_path: Path, project: Project, server: EmulatorServer, sleeps: list[float]
) -> None:
    # The answer to the session's last PUT is lost after the file was stored; the retry is
    # refused as a replay (the session is complete). The server is asked, and says it has it.
    sizes = write_image_tree(tmp_path, 3, depth=0)
    server.control.add_fault(
        {"route": "storage", "path": "/ingest/[^/]+/2$", "drop": True, "when": "after", "times": 1}
    )
    async with project.assets.create_upload_session(max_concurrency=1) as session:
        await session.add_path(tmp_path)
    stored = {a.filename: a.metadata.file_size async for a in project.assets.iter()}
    assert stored == sizes
    assert server.control.stats()["faults"]["triggered"] == 1


async def test_one_failed_file_drops_no_other_batch(
    tmp_path: Path, project: Project, server: EmulatorServer, sleeps: list[float]
) -> None:
    sizes = write_image_tree(tmp_path, 30, depth=0)
    server.control.add_fault({"route": "storage", "status": 403, "times": 1})  # not retried
    with pytest.raises(UploadError) as caught:
        async with project.assets.create_upload_session(batch_size=10) as session:
            await session.add_path(tmp_path)
    (failed,) = caught.value.failed
    stored = {a.filename: a.metadata.file_size async for a in project.assets.iter()}
    assert set(stored) == set(sizes) - {failed.filename}  # every other batch ran to its end
    assert server.control.stats()["open_upload_sessions"] == 0
