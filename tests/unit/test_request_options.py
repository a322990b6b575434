"""Per-call options every API method takes: ``extra_headers`` and ``extra_query``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from nexus_async import AsyncClient, InvalidInputError, Project
from tests.unit import payloads
from tests.unit.conftest import SECRET


async def test_extra_headers_are_sent_with_the_call(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    route = api.get("/workspace").respond(json=payloads.workspace())
    await client.get_info(extra_headers={"X-Trace-Id": "abc-123"})
    headers = route.calls.last.request.headers
    assert headers["X-Trace-Id"] == "abc-123"
    assert headers["Secret-Key"] == SECRET  # the client's own headers stay


async def test_extra_headers_replace_a_default_whatever_its_case(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    route = api.get("/workspace").respond(json=payloads.workspace())
    await client.get_info(extra_headers={"user-agent": "my-service/2.0"})
    request = route.calls.last.request
    assert request.headers.get_list("User-Agent") == ["my-service/2.0"]


async def test_extra_headers_can_set_the_body_s_content_type(
    api: respx.MockRouter, project: Project
) -> None:
    route = api.patch(f"/projects/{project.id}").respond(json=payloads.project(name="Dogs"))
    await project.update({"name": "Dogs"}, extra_headers={"content-type": "application/json; v=2"})
    request = route.calls.last.request
    assert request.headers.get_list("Content-Type") == ["application/json; v=2"]
    assert json.loads(request.content) == {"name": "Dogs"}


async def test_extra_headers_are_not_kept_for_the_next_call(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    route = api.get("/workspace").respond(json=payloads.workspace())
    await client.get_info(extra_headers={"X-Once": "1"})
    await client.get_info()
    assert "X-Once" not in route.calls.last.request.headers


@pytest.mark.parametrize(
    "name",
    ["Secret-Key", "secret-key", "Host", "Content-Length", "Transfer-Encoding", "Connection"],
)
async def test_refused_headers_raise_before_any_request(
    api: respx.MockRouter, client: AsyncClient, name: str
) -> None:
    route = api.get("/workspace").respond(json=payloads.workspace())
    with pytest.raises(InvalidInputError, match=name):
        await client.get_info(extra_headers={name: "x"})
    assert not route.called


async def test_a_header_value_that_is_not_a_string_is_refused(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    route = api.get("/workspace").respond(json=payloads.workspace())
    bad: Any = {"X-Count": 3}
    with pytest.raises(InvalidInputError, match="str to str"):
        await client.get_info(extra_headers=bad)
    assert not route.called


async def test_a_refused_header_never_echoes_its_value(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await client.get_info(extra_headers={"Secret-Key": "another-workspace-key"})
    assert "another-workspace-key" not in str(caught.value)


async def test_extra_query_is_added_with_the_wire_conventions(
    api: respx.MockRouter, project: Project
) -> None:
    route = api.get(f"/projects/{project.id}/assets").respond(json=payloads.page([]))
    await project.assets.list(
        {"limit": 5}, extra_query={"beta": True, "tags": ["a b", "c"], "skip": None}
    )
    query = route.calls.last.request.url.query.decode()
    assert query == "limit=5&beta=true&tags%5B%5D=a%20b&tags%5B%5D=c"


async def test_extra_query_replaces_a_parameter_of_the_same_name(
    api: respx.MockRouter, project: Project
) -> None:
    route = api.get(f"/projects/{project.id}/assets").respond(json=payloads.page([]))
    await project.assets.list({"limit": 5}, extra_query={"limit": 7})
    assert route.calls.last.request.url.params.get_list("limit") == ["7"]


async def test_options_reach_paginated_iteration(api: respx.MockRouter, project: Project) -> None:
    route = api.get(f"/projects/{project.id}/assets").respond(json=payloads.page([]))
    async for _ in project.assets.iter(extra_headers={"X-Trace-Id": "t"}, extra_query={"b": 1}):
        pass
    request = route.calls.last.request
    assert request.headers["X-Trace-Id"] == "t"
    assert request.url.params["b"] == "1"
