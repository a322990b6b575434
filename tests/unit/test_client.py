"""Client configuration: credentials, endpoint, secrets kept out of reprs, shared pools."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import respx

import nexus_async
from nexus_async import AsyncClient
from tests.unit import payloads
from tests.unit.conftest import BASE_URL, SECRET


def test_no_credentials_is_an_error_before_any_request() -> None:
    with pytest.raises(nexus_async.ConfigurationError, match="NEXUS_SECRET_KEY"):
        AsyncClient()


async def test_secret_key_and_endpoint_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEXUS_SECRET_KEY", "env-key")
    monkeypatch.setenv("DATATURE_API_BASE_URL", "https://env.test")
    with respx.mock(base_url="https://env.test") as router:
        route = router.get("/workspace").respond(json=payloads.workspace())
        async with AsyncClient() as client:
            await client.get_info()
    assert route.calls.last.request.headers["Secret-Key"] == "env-key"
    assert client.endpoint == "https://env.test"


def test_endpoint_variable_is_read_when_the_client_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AsyncClient("k").endpoint == "https://api.datature.io"
    monkeypatch.setenv("DATATURE_API_BASE_URL", "http://127.0.0.1:9")
    assert AsyncClient("k").endpoint == "http://127.0.0.1:9"


@pytest.mark.parametrize("endpoint", ["ftp://x", "not a url", "http://"])
def test_bad_endpoint_is_refused(endpoint: str) -> None:
    with pytest.raises(nexus_async.ConfigurationError, match="endpoint"):
        AsyncClient("k", endpoint=endpoint)


def test_mtls_needs_both_files(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(nexus_async.ConfigurationError, match="both"):
        AsyncClient(mtls_certificate_file_path=str(cert))
    with pytest.raises(nexus_async.ConfigurationError, match="not found"):
        AsyncClient(
            mtls_certificate_file_path=str(cert),
            mtls_private_key_file_path=str(tmp_path / "missing.key"),
        )


def test_bad_timeout_is_refused() -> None:
    with pytest.raises(nexus_async.ConfigurationError, match="timeout"):
        AsyncClient("k", timeout=0)


async def test_the_secret_key_is_in_no_repr_and_no_log(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/workspace").respond(json=payloads.workspace())
    api.get(f"/projects/{payloads.PROJECT_ID}").respond(404, json={"code": "X", "message": "gone"})
    caplog.set_level(logging.DEBUG)
    async with AsyncClient(SECRET, endpoint=BASE_URL) as client:
        project = client.get_project(payloads.PROJECT_ID)
        await client.get_info()
        with pytest.raises(nexus_async.NotFoundError) as caught:
            await project.get_info()
        texts = [
            repr(client),
            str(client),
            repr(project),
            repr(project.assets),
            str(caught.value),
            repr(caught.value),
        ]
    texts += [record.getMessage() for record in caplog.records]
    assert any("/workspace" in text for text in texts)  # the log did record the call
    assert all(SECRET not in text for text in texts)


async def test_with_options_shares_the_connection_pool(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    api.get("/workspace").respond(json=payloads.workspace())
    patient = client.with_options(timeout=300, max_retries=8)
    assert patient._transport._http is client._transport._http
    assert patient._transport.retry.max_retries == 8
    assert client._transport.retry.max_retries == 3
    await patient.get_info()
    await patient.aclose()  # a derived client does not close the shared pool
    assert not client.is_closed
    await client.get_info()


async def test_injected_http_client_is_used_and_left_open(api: respx.MockRouter) -> None:
    route = api.get("/workspace").respond(json=payloads.workspace())
    async with httpx.AsyncClient() as http:
        async with AsyncClient(SECRET, endpoint=BASE_URL, http_client=http) as client:
            await client.get_info()
        assert not http.is_closed
    assert route.called


async def test_async_with_closes_the_pool() -> None:
    async with AsyncClient("k") as client:
        assert not client.is_closed
    assert client.is_closed


async def test_one_client_serves_many_concurrent_tasks(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    import anyio

    route = api.get(f"/projects/{payloads.PROJECT_ID}").respond(json=payloads.project())
    names: list[str] = []

    async def fetch() -> None:
        names.append((await client.get_project(payloads.PROJECT_ID).get_info()).name)

    async with anyio.create_task_group() as group:
        for _ in range(50):
            group.start_soon(fetch)
    assert names == ["Cats"] * 50
    assert route.call_count == 50


async def test_workspace_and_projects(api: respx.MockRouter, client: AsyncClient) -> None:
    api.get("/workspace").respond(json=payloads.workspace())
    api.get("/workspace/projects").respond(
        json=[payloads.project(), payloads.project(id="proj_2", name="Dogs")]
    )
    workspace = await client.get_info()
    assert (workspace.id, workspace.owner, workspace.tier, workspace.create_date) == (
        "ws_1c8aab980f174b0296c7e35e88665b13",
        "user_6323fea23e292439f31c58cd",
        "Developer",
        1694771445182,
    )
    projects = await client.list_projects()
    assert [p.id for p in projects] == [payloads.PROJECT_ID, "proj_2"]
    assert projects[1].info is not None
    assert projects[1]["name"] == "Dogs"
    assert repr(projects[1]) == "Project(id='proj_2', name='Dogs')"
    dogs = projects[1]
    assert (dogs.name, dogs.workspace_id, dogs.type) == (
        "Dogs",
        dogs.info.workspace_id,
        "ObjectDetection",
    )
    assert dogs.create_date == dogs.info.create_date
    assert dogs.statistic.total_assets is None or dogs.statistic.total_assets >= 0
    with pytest.raises(AttributeError, match="get_info"):
        _ = client.get_project("proj_3").name  # no info fetched yet


def test_get_project_adds_the_prefix_and_does_no_io(client: AsyncClient) -> None:
    assert client.get_project("abc123").id == "proj_abc123"
    assert client.get_project("proj_abc123").id == "proj_abc123"
    with pytest.raises(nexus_async.InvalidInputError):
        client.get_project("")


def test_a_client_used_in_a_closed_event_loop_says_so() -> None:
    import asyncio

    with respx.mock(base_url=BASE_URL) as router:
        router.get("/workspace").respond(json=payloads.workspace())
        client = AsyncClient(SECRET, endpoint=BASE_URL)

        async def call() -> str:
            return (await client.get_info()).id

        assert asyncio.run(call()).startswith("ws_")
        with pytest.raises(nexus_async.ConfigurationError, match="one client inside each"):
            asyncio.run(call())


def test_nexus_log_turns_on_the_sdks_own_log_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    logger = logging.getLogger("nexus_async")
    level, handlers = logger.level, list(logger.handlers)
    root_handlers = list(logging.getLogger().handlers)
    try:
        monkeypatch.setenv("NEXUS_LOG", "debug")
        AsyncClient(SECRET, endpoint=BASE_URL)
        AsyncClient(SECRET, endpoint=BASE_URL)  # idempotent: one handler
        assert logger.level == logging.DEBUG
        added = [h for h in logger.handlers if h not in handlers]
        assert len(added) == 1
        logger.debug("a record")
        assert "DEBUG nexus_async: a record" in capsys.readouterr().err
        assert logging.getLogger().handlers == root_handlers  # nothing else configured
    finally:
        logger.setLevel(level)
        logger.handlers[:] = handlers


async def test_with_options_builds_the_client_through_its_constructor(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    route = api.get("/workspace").respond(json=payloads.workspace())
    patient = client.with_options(timeout=300)
    assert type(patient) is AsyncClient
    assert patient.endpoint == client.endpoint
    assert patient._transport.timeout.read == 300
    assert patient._transport.retry == client._transport.retry  # unchanged unless asked
    assert patient._creation_limits is client._creation_limits  # one upload-session budget
    await patient.get_info()
    assert route.calls.last.request.headers["Secret-Key"] == SECRET


async def test_with_options_checks_its_options_like_the_constructor(client: AsyncClient) -> None:
    with pytest.raises(nexus_async.ConfigurationError, match="max_retries"):
        client.with_options(max_retries=-1)


async def test_with_options_of_a_derived_client_still_shares_the_pool(
    client: AsyncClient,
) -> None:
    grandchild = client.with_options(timeout=5).with_options(max_retries=0)
    assert grandchild._transport._http is client._transport._http
    assert grandchild._transport.timeout.read == 5
    await grandchild.aclose()
    assert not client.is_closed
