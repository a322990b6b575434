"""Every script in examples/ runs against the emulator.

The scripts run as subprocesses with NEXUS_SECRET_KEY/DATATURE_API_BASE_URL/NEXUS_PROJECT_ID
pointing at an emulator started here (the path a user with a real workspace takes), and once
without a key (the script starts its own emulator). The FastAPI example is imported and driven
through its HTTP endpoints with httpx's ASGITransport, its lifespan entered as a server would
(test_fastapi_service.py runs it under a real uvicorn).
"""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from nexus_async import InvalidInputError
from nexus_async.emulator import EmulatorConfig
from nexus_async.testing import EmulatorServer
from tests.media import png_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig()) as server:
        yield server


def run_example(
    name: str, *args: str, cwd: Path, server: EmulatorServer | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "DATATURE_"))}
    if server is not None:
        assert server.secret_key is not None
        assert server.project_id is not None
        env.update(
            NEXUS_SECRET_KEY=server.secret_key,
            DATATURE_API_BASE_URL=server.base_url,
            NEXUS_PROJECT_ID=server.project_id,
        )
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_quickstart_on_a_workspace(server: EmulatorServer, tmp_path: Path) -> None:
    out = run_example("quickstart.py", cwd=tmp_path, server=server).stdout
    assert "workspace " in out
    assert f"3 assets in {server.project_id}" in out
    assert "annotated quickstart-0.png: boat" in out
    assert "local emulator" not in out


def test_quickstart_starts_its_own_emulator_without_a_key(tmp_path: Path) -> None:
    out = run_example("quickstart.py", cwd=tmp_path).stdout
    assert out.startswith("(no NEXUS_SECRET_KEY: using a local emulator at http://127.0.0.1:")
    assert "annotated quickstart-0.png" in out


def test_bulk_upload_resumes_on_a_rerun(server: EmulatorServer, tmp_path: Path) -> None:
    first = run_example("bulk_upload.py", "images", cwd=tmp_path, server=server).stdout
    assert "run 1: uploaded 200, skipped 0" in first
    assert len(list((tmp_path / "images").iterdir())) == 200
    second = run_example("bulk_upload.py", "images", cwd=tmp_path, server=server).stdout
    assert "run 1: uploaded 0, skipped 200" in second


def test_bulk_upload_on_the_emulator_shows_the_resume(tmp_path: Path) -> None:
    out = run_example("bulk_upload.py", cwd=tmp_path).stdout
    assert "run 1: uploaded 200, skipped 0" in out
    assert "run 2: uploaded 0, skipped 200" in out


def test_import_export(server: EmulatorServer, tmp_path: Path) -> None:
    out = run_example("import_export.py", "out", cwd=tmp_path, server=server).stdout
    assert "imported 4 annotations" in out
    assert [p.name for p in (tmp_path / "out").rglob("*.json")] == ["train.json"]


@pytest.fixture
def backend(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    assert server.secret_key is not None
    assert server.project_id is not None
    monkeypatch.setenv("NEXUS_SECRET_KEY", server.secret_key)
    monkeypatch.setenv("DATATURE_API_BASE_URL", server.base_url)
    monkeypatch.setenv("NEXUS_PROJECT_ID", server.project_id)
    # Requests one after the other: the second would wait for the 21 s session pace.
    monkeypatch.setenv("NEXUS_UPLOAD_MAX_DELAY", "0.2")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(
        "fastapi_backend_example", EXAMPLES / "fastapi_backend.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # as an import would (dataclasses)
    spec.loader.exec_module(module)
    return module


@asynccontextmanager
async def served(backend: ModuleType) -> AsyncIterator[httpx.AsyncClient]:
    """The app's lifespan entered as a server would (in one task: the uploader holds a task
    group), and an HTTP client that drives it in-process."""
    app = backend.app
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://backend") as http:
            yield http
    assert app.state.client.is_closed  # the shared client is closed on shutdown
    with pytest.raises(InvalidInputError, match="closed"):  # and so is the uploader
        await app.state.uploader.upload_bytes(png_bytes(8, 8), "late.png")


async def test_fastapi_upload_and_export(backend: ModuleType, sleeps: list[float]) -> None:
    async with served(backend) as http:
        image = png_bytes(40, 30)
        response = await http.post("/images", files={"file": ("boat.png", image, "image/png")})
        assert response.status_code == 201, response.text
        assert response.json()["filename"] == "boat.png"
        assert response.json()["size"] == len(image)
        assert response.json()["session_id"].startswith("up_")
        client = backend.app.state.client
        response = await http.post("/images", files={"file": ("car.png", png_bytes(8, 8))})
        assert response.status_code == 201, response.text
        assert backend.app.state.client is client  # one client for every request
        asset = await backend.app.state.project.assets.get("car.png")
        assert asset.metadata.file_size == response.json()["size"]

        started = await http.post("/exports", params={"format": "csv_fourcorner"})
        assert started.status_code == 202, started.text
        op_id = started.json()["op_id"]
        for _ in range(50):
            state = (await http.get(f"/exports/{op_id}")).json()
            if state["status"] == "Finished":
                break
        assert state["status"] == "Finished"
        assert state["progress"]["finished"] >= 1
    async with httpx.AsyncClient() as plain:
        archive = (await plain.get(state["download_url"])).content
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert any(name.endswith("train.csv") for name in opened.namelist())


async def test_fastapi_errors_are_json(backend: ModuleType) -> None:
    async with served(backend) as http:
        response = await http.post("/images", files={"file": ("notes.txt", b"hello")})
        assert response.status_code == 400
        assert response.json()["error"] in ("UnsupportedFileError", "InvalidInputError")
        response = await http.get("/exports/op_00000000-0000-0000-0000-000000000000")
        assert response.status_code == 404
        assert response.json()["error"] == "NotFoundError"
        response = await http.post("/exports", params={"format": "nope"})
        assert response.status_code == 400


async def test_fastapi_answers_429_at_the_session_limit(
    backend: ModuleType, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no batching delay each upload takes a session of its own: the 16th within 300 s
    would wait minutes for the limit, so the request is refused with 429 and Retry-After."""
    monkeypatch.setenv("NEXUS_UPLOAD_MAX_DELAY", "0")
    async with served(backend) as http:
        for i in range(15):
            response = await http.post("/images", files={"file": (f"{i}.png", png_bytes(8, 8))})
            assert response.status_code == 201, response.text
        response = await http.post("/images", files={"file": ("16.png", png_bytes(8, 8))})
        assert response.status_code == 429, response.text
        assert response.json()["error"] == "RateLimitError"
        assert "nothing was sent" in response.json()["detail"]
        assert 200 <= int(response.headers["Retry-After"]) <= 300
    stats = server.control.stats()
    assert stats["created"]["upload_sessions"] == 15  # the 16th was never asked for
    assert stats["assets_stored"] == 15


async def test_fastapi_passes_on_the_servers_429(
    backend: ModuleType, server: EmulatorServer
) -> None:
    server.control.add_fault(
        {"route": "upload_session_create", "status": 429, "retry_after": 42, "times": 1}
    )
    async with served(backend) as http:
        response = await http.post("/images", files={"file": ("a.png", png_bytes(8, 8))})
        assert response.status_code == 429, response.text
        assert response.headers["Retry-After"] == "42"
        response = await http.post("/images", files={"file": ("a.png", png_bytes(8, 8))})
        assert response.status_code == 201, response.text
    assert server.control.stats()["open_upload_sessions"] == 0
