"""When the server acts on a POST but its answer is lost (dropped connection, or a 500 sent
after the work was done), nexus_async does not send the POST again: nothing is created twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nexus_async
from nexus_async import Project
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes

NDJSON = b'{"kind": "Image", "url": "https://example.invalid/a.jpg"}\n'

BOX = [[0.1, 0.1], [0.1, 0.5], [0.5, 0.5], [0.5, 0.1]]
LOST = [{"drop": True, "when": "after", "times": 1}, {"status": 500, "when": "after", "times": 1}]


@pytest.mark.parametrize("lost", LOST, ids=["dropped", "500-after"])
async def test_upload_session_is_not_created_twice(
    project: Project, server: EmulatorServer, lost: dict[str, object]
) -> None:
    server.control.add_fault({"route": "upload_session_create", **lost})
    with pytest.raises((nexus_async.APIConnectionError, nexus_async.InternalServerError)):
        async with project.assets.create_upload_session() as session:
            await session.add_bytes(png_bytes(3, 3), "a.png")
    assert server.control.stats()["created"]["upload_sessions"] == 1


@pytest.mark.parametrize("lost", LOST, ids=["dropped", "500-after"])
async def test_annotation_is_not_created_twice(
    seeded: Project, server: EmulatorServer, lost: dict[str, object]
) -> None:
    asset = await seeded.assets.get("a.png")
    server.control.add_fault({"method": "POST", "path": "/annotations$", **lost})
    with pytest.raises((nexus_async.APIConnectionError, nexus_async.InternalServerError)):
        await seeded.annotations.create(
            {"asset_id": asset.id, "tag": "boat", "bound_type": "Rectangle", "bound": BOX}
        )
    assert server.control.stats()["created"]["annotations"] == 1


@pytest.mark.parametrize("lost", LOST, ids=["dropped", "500-after"])
async def test_export_is_not_started_twice(
    seeded: Project, server: EmulatorServer, lost: dict[str, object]
) -> None:
    server.control.add_fault({"route": "export_create", **lost})
    with pytest.raises((nexus_async.APIConnectionError, nexus_async.InternalServerError)):
        await seeded.annotations.create_export(
            {"format": "csv_fourcorner", "options": {"split_ratio": 0.0, "seed": 1}}
        )
    assert server.control.stats()["created"]["exports"] == 1


@pytest.mark.parametrize("lost", LOST, ids=["dropped", "500-after"])
async def test_dataset_is_not_created_twice(
    project: Project, server: EmulatorServer, lost: dict[str, object], tmp_path: Path
) -> None:
    items = tmp_path / "items.ndjson"
    items.write_bytes(NDJSON)
    server.control.add_fault({"route": "dataset_create", **lost})
    with pytest.raises((nexus_async.APIConnectionError, nexus_async.InternalServerError)):
        await project.batch.datasets.create(name="ds", dataset_path=items)
    assert server.control.stats()["created"]["datasets"] == 1


@pytest.mark.parametrize("lost", LOST, ids=["dropped", "500-after"])
async def test_import_session_is_not_created_twice(
    project: Project, server: EmulatorServer, lost: dict[str, object]
) -> None:
    server.control.add_fault({"route": "import_session_create", **lost})
    with pytest.raises((nexus_async.APIConnectionError, nexus_async.InternalServerError)):
        async with project.annotations.create_import_session() as session:
            await session.add_bytes(b"filename,xmin,ymin,xmax,ymax,label\n", "a.csv")
    assert server.control.stats()["created"]["import_sessions"] == 1


async def _import_one_box(seeded: Project, tmp_path: Path) -> str:
    name = (await seeded.assets.list()).data[0].filename
    labels = tmp_path / "boxes.csv"
    labels.write_text(f"filename,xmin,ymin,xmax,ymax,label\n{name},0.1,0.1,0.5,0.5,boat\n")
    async with seeded.annotations.create_import_session() as session:
        await session.add_path(labels)
    assert session.id is not None
    return session.id


@pytest.mark.parametrize("lost", LOST, ids=["dropped", "500-after"])
async def test_a_commit_whose_answer_is_lost_is_checked_not_reported_failed(
    seeded: Project, server: EmulatorServer, tmp_path: Path, lost: dict[str, object]
) -> None:
    server.control.add_fault({"route": "import_session_update", **lost})
    session_id = await _import_one_box(seeded, tmp_path)  # no error: it was committed
    state = await seeded.annotations.get_import_session(session_id)
    assert state.status.overview == "Finished"
    assert len([a async for a in seeded.annotations.iter()]) == 1  # once, not zero, not two


async def test_a_commit_that_cannot_be_checked_is_an_unknown_outcome_not_a_failure(
    seeded: Project, server: EmulatorServer, tmp_path: Path
) -> None:
    server.control.add_fault({"route": "import_session_update", "drop": True, "when": "after"})
    with pytest.raises(nexus_async.OutcomeUnknownError) as caught:
        await _import_one_box(seeded, tmp_path)
    assert "get_import_session" in caught.value.how_to_check
    server.control.clear_faults()
    (created,) = await seeded.annotations.list_import_sessions()
    state = await seeded.annotations.get_import_session(created.id)
    assert state.status.overview != "Errored"  # not marked failed: it was in fact committed
    assert len([a async for a in seeded.annotations.iter()]) == 1
