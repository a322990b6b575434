"""The client's ``storage_engine`` carries every transfer of its uploads (session, service
uploader, annotation import), and their retries wait on the client's clock."""

from __future__ import annotations

from collections.abc import Mapping

from nexus_async import AsyncClient
from nexus_async.testing import EmulatorServer
from nexus_async.uploads.storage import EngineOptions, EngineResponse, StorageEngine
from nexus_async.uploads.storage.engine import RequestBody
from nexus_async.uploads.storage.httpx_engine import HttpxEngine
from tests.media import png_bytes
from tests.virtual_clock import VirtualClock


class CountingEngine:
    """The httpx engine, counting what it sends; the first PUT fails once with a 503."""

    def __init__(self, options: EngineOptions) -> None:
        self.inner: StorageEngine = HttpxEngine(options)
        self.sent: list[str] = []

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: RequestBody,
        *,
        stream: bool = False,
    ) -> EngineResponse:
        self.sent.append(method)
        return await self.inner.send(method, url, headers, body, stream=stream)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_every_upload_path_runs_on_the_client_s_engine_and_clock(
    server: EmulatorServer,
) -> None:
    engines: list[CountingEngine] = []

    def factory(options: EngineOptions) -> CountingEngine:
        engines.append(CountingEngine(options))
        return engines[-1]

    def refuse_next_put() -> None:  # its retry must wait on the virtual clock
        server.control.add_fault({"route": "storage", "status": 503, "times": 1})

    virtual = VirtualClock()
    async with AsyncClient(
        server.secret_key, endpoint=server.base_url, storage_engine=factory, clock=virtual.clock
    ) as client:
        assert server.project_id is not None
        project = client.get_project(server.project_id)
        refuse_next_put()
        async with project.assets.create_upload_session() as session:
            await session.add_bytes(png_bytes(8, 8), "session.png")
        refuse_next_put()
        async with project.assets.create_uploader(max_delay=0) as uploader:
            await uploader.upload_bytes(png_bytes(9, 9), "uploader.png")
        refuse_next_put()
        async with project.annotations.create_import_session() as imports:
            csv = "filename,xmin,ymin,xmax,ymax,label\nsession.png,1,1,5,5,cat\n"
            await imports.add_bytes(csv.encode(), "boxes.csv")
    assert len(engines) == 3
    assert all("PUT" in engine.sent for engine in engines)
    assert sum(len(engine.sent) for engine in engines) == 6  # 3 files, each sent twice
    assert len(virtual.slept) == 3  # every retry wait went to the client's clock
