"""The SDK is built on anyio, so it runs under trio as well as asyncio: API calls, an upload
session (storage transfers, polling) and the uploader, over real HTTP."""

from __future__ import annotations

import anyio
import pytest

from nexus_async import AsyncClient
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes

trio = pytest.importorskip("trio")


def test_calls_uploads_and_a_cancellation_storm_under_trio(server: EmulatorServer) -> None:
    async def main() -> list[str]:
        async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
            project = client.get_project(server.project_id or "")

            async def impatient() -> None:
                for attempt in range(10):
                    with anyio.move_on_after(attempt / 2000):
                        await project.get_info()

            async with anyio.create_task_group() as group:
                for _ in range(10):
                    group.start_soon(impatient)
            async with project.assets.create_upload_session() as session:
                await session.add_bytes(png_bytes(4, 4), "trio.png")
            async with project.assets.create_uploader(max_delay=0.5) as uploader:
                await uploader.upload_bytes(png_bytes(5, 5), "trio-2.png")
            with anyio.fail_after(5):
                await project.get_info(timeout=2, max_retries=0)
            return [asset.filename async for asset in project.assets.iter()]

    assert sorted(anyio.run(main, backend="trio")) == ["trio-2.png", "trio.png"]
