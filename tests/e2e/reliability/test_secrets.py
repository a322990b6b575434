"""With DEBUG logging everywhere, the secret key and URL signatures never show: not in logs,
reprs or error messages, and the key never reaches the storage host."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

import nexus_async
from nexus_async import AsyncClient
from nexus_async.testing import EmulatorServer
from tests.media import write_image_tree


async def test_no_secret_in_logs_reprs_errors_or_storage_requests(
    tmp_path: Path, server: EmulatorServer, caplog: pytest.LogCaptureFixture, sleeps: list[float]
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: nexus_async, httpx, httpcore, ...
    write_image_tree(tmp_path, 30, depth=0)
    server.control.add_fault({"route": "storage", "status": 503, "times": 5})  # retries get logged
    server.control.add_fault({"route": "storage", "path": "/ingest/[^/]+/17$", "status": 403})
    texts: list[str] = []
    async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
        project = client.get_project(server.project_id or "")
        texts += [repr(client), repr(project), repr(project.assets)]
        await client.get_info()
        with pytest.raises(nexus_async.NotFoundError) as missing:
            await project.assets.get("nope.png")
        session = project.assets.create_upload_session()
        with pytest.raises(nexus_async.UploadError) as failed:
            async with session:
                await session.add_path(tmp_path)
        texts += [repr(session), str(missing.value), repr(missing.value), str(failed.value)]
        texts += [repr(f.cause) for f in failed.value.failed]

    logged = [record.getMessage() for record in caplog.records]
    assert any("/_storage/" in line for line in logged)  # storage traffic was logged...
    assert any("Retrying" in line for line in logged)  # ...and so were the retries
    for text in texts + logged:
        assert server.secret_key not in text
        assert not re.search(r"(?i)signature=(?!REDACTED)", text), text
    header_names = [h.lower() for h in server.control.stats()["storage"]["header_names"]]
    assert "secret-key" not in header_names
    assert "content-length" in header_names
