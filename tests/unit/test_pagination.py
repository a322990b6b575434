"""Pagination arguments and the lazy walk over all pages."""

from __future__ import annotations

import httpx
import pytest
import respx

import nexus_async
from nexus_async import Project
from tests.unit import payloads


async def test_iter_walks_every_page_lazily(api: respx.MockRouter, project: Project) -> None:
    route = api.get(f"/projects/{project.id}/assets").mock(
        side_effect=[
            httpx.Response(
                200,
                json=payloads.page([payloads.asset("a1"), payloads.asset("a2")], next_page="c2"),
            ),
            httpx.Response(
                200, json=payloads.page([payloads.asset("a3")], next_page="c3", prev_page="c1")
            ),
            httpx.Response(200, json=payloads.page([])),
        ]
    )
    iterator = project.assets.iter(filters={"groups": ["main"]}, limit=2)
    first = await anext(iterator)
    assert first.id == "a1"
    assert route.call_count == 1
    rest = [asset.id async for asset in iterator]
    assert rest == ["a2", "a3"]
    pages = [call.request.url.params for call in route.calls]
    assert [p.get("page") for p in pages] == [None, "c2", "c3"]
    assert all(p["limit"] == "2" and p.get_list("group[]") == ["main"] for p in pages)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((), {}, {"limit": "100"}),
        (({"limit": 2, "page": "abc"},), {}, {"limit": "2", "page": "abc"}),
        ((nexus_async.Pagination(limit=5),), {}, {"limit": "5"}),
        ((), {"limit": 7, "page": "xyz"}, {"limit": "7", "page": "xyz"}),
        (({"limit": 2, "page": "abc"},), {"page": "def"}, {"limit": "2", "page": "def"}),
    ],
)
async def test_pagination_from_dict_model_or_keywords(
    api: respx.MockRouter,
    project: Project,
    args: tuple[object, ...],
    kwargs: dict[str, object],
    expected: dict[str, str],
) -> None:
    route = api.get(f"/projects/{project.id}/assets").respond(json=payloads.page([]))
    await project.assets.list(*args, **kwargs)  # type: ignore[arg-type]
    assert dict(route.calls.last.request.url.params) == expected


@pytest.mark.parametrize(
    "pagination", [{"limit": 0}, {"limit": 1001}, {"limit": "many"}, {"cursor": "x"}, "page=1"]
)
async def test_bad_pagination_is_refused_before_any_request(
    api: respx.MockRouter, project: Project, pagination: object
) -> None:
    route = api.get(f"/projects/{project.id}/assets").respond(json=payloads.page([]))
    with pytest.raises(nexus_async.InvalidInputError, match="Pagination"):
        await project.assets.list(pagination)  # type: ignore[arg-type]
    assert not route.called


async def test_iter_refuses_bad_filters_at_once(project: Project) -> None:
    with pytest.raises(nexus_async.InvalidInputError, match="AssetFilter"):
        project.assets.iter(filters={"colour": "red"})
