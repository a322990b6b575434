"""The request pipeline: headers, URL encoding, error mapping and response decoding."""

from __future__ import annotations

import json
import platform

import httpx
import pytest
import respx

import nexus_async
from nexus_async import AsyncClient, Project
from nexus_async._transport import api_path, encode_query
from tests.unit import payloads
from tests.unit.conftest import SECRET


async def test_every_call_sends_the_secret_key_and_a_user_agent(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    route = api.get("/workspace").respond(json=payloads.workspace())
    await client.get_info()
    headers = route.calls.last.request.headers
    assert headers["Secret-Key"] == SECRET
    assert headers["User-Agent"] == (
        f"nexus_async/{nexus_async.__version__} (Python/{platform.python_version()}; "
        f"{platform.system()}/{platform.machine()})"
    )
    assert "content-type" not in headers  # no body, no content type


async def test_json_bodies_are_sent_as_json(api: respx.MockRouter, project: Project) -> None:
    route = api.patch(f"/projects/{project.id}").respond(json=payloads.project(name="Dogs"))
    await project.update({"name": "Dogs"})
    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"name": "Dogs"}


def test_path_segments_are_percent_encoded() -> None:
    assert api_path("projects", "proj_1", "assets", "my file#1.png") == (
        "/projects/proj_1/assets/my%20file%231.png"
    )
    assert api_path("a", "x/y?z%") == "/a/x%2Fy%3Fz%25"


def test_query_values_are_encoded_and_lists_use_brackets() -> None:
    query = encode_query(
        {"page": "ab+c/==", "limit": 2, "group": ["main", "a b"], "skip": None, "flag": True}
    )
    assert query == "?page=ab%2Bc%2F%3D%3D&limit=2&group%5B%5D=main&group%5B%5D=a%20b&flag=true"
    assert encode_query({"only": None}) == ""
    assert encode_query({"group": []}) == ""


async def test_an_asset_named_with_reserved_characters_is_one_path_segment(
    api: respx.MockRouter, project: Project
) -> None:
    route = api.get(f"/projects/{project.id}/assets/my%20file%231.png").respond(
        json=payloads.asset(filename="my file#1.png")
    )
    asset = await project.assets.get("my file#1.png")
    assert asset.filename == "my file#1.png"
    assert route.calls.last.request.url.raw_path.endswith(b"/assets/my%20file%231.png")


async def test_query_values_with_reserved_characters_survive(
    api: respx.MockRouter, project: Project
) -> None:
    route = api.get(f"/projects/{project.id}/assets").respond(json=payloads.page([]))
    await project.assets.list(filters={"filename": "x y&z=1+2#.png"})
    assert route.calls.last.request.url.params["filename"] == "x y&z=1+2#.png"


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, nexus_async.BadRequestError),
        (401, nexus_async.AuthenticationError),
        (403, nexus_async.ForbiddenError),
        (404, nexus_async.NotFoundError),
        (409, nexus_async.ConflictError),
        (413, nexus_async.APIStatusError),
        (422, nexus_async.UnprocessableEntityError),
        (429, nexus_async.RateLimitError),
        (500, nexus_async.InternalServerError),
        (501, nexus_async.InternalServerError),
        (503, nexus_async.InternalServerError),
    ],
)
async def test_each_status_maps_to_its_error(
    api: respx.MockRouter, project: Project, status: int, error_type: type[Exception]
) -> None:
    body = {"code": "SomeError", "message": "Requested Project Resource Not Found"}
    api.get(f"/projects/{project.id}").respond(status, json=body)
    with pytest.raises(error_type) as caught:
        await project.get_info(max_retries=0)
    error = caught.value
    assert isinstance(error, nexus_async.APIStatusError)
    assert error.status_code == status
    assert error.message == "Requested Project Resource Not Found"
    assert error.code == "SomeError"
    assert error.body == body
    assert error.request is not None
    assert error.request.url.path == f"/projects/{project.id}"
    where = f"{status} Requested Project Resource Not Found (GET /projects/{project.id})"
    assert str(error).startswith(where)
    assert ("Check the secret key" in str(error)) == (status in (401, 403))
    assert repr(error) == (
        f"{error_type.__name__}(status_code={status}, code='SomeError', "
        "message='Requested Project Resource Not Found')"
    )


async def test_error_without_json_body_keeps_the_text(
    api: respx.MockRouter, project: Project
) -> None:
    api.get(f"/projects/{project.id}").respond(502, text="<html>Bad Gateway</html>")
    with pytest.raises(nexus_async.InternalServerError) as caught:
        await project.get_info(max_retries=0)
    assert caught.value.body == "<html>Bad Gateway</html>"
    assert "Bad Gateway" in caught.value.message


async def test_rate_limit_error_carries_retry_after(
    api: respx.MockRouter, project: Project
) -> None:
    api.get(f"/projects/{project.id}").respond(
        429,
        json={"code": "TooManyRequestsError", "message": "Too Many Requests"},
        headers={"Retry-After": "12"},
    )
    with pytest.raises(nexus_async.RateLimitError) as caught:
        await project.get_info(max_retries=0)
    assert caught.value.retry_after == 12.0


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "empty body"), (b"<xml/>", "not JSON"), (b"{'a': 1}", "not JSON")],
)
async def test_a_2xx_without_json_is_a_typed_error(
    api: respx.MockRouter, client: AsyncClient, content: bytes, problem: str
) -> None:
    api.get("/workspace").respond(200, content=content)
    with pytest.raises(nexus_async.APIResponseError, match=problem):
        await client.get_info()


async def test_a_204_is_a_typed_error(api: respx.MockRouter, client: AsyncClient) -> None:
    api.get("/workspace").respond(204)
    with pytest.raises(nexus_async.APIResponseError) as caught:
        await client.get_info()
    assert caught.value.status_code == 204


async def test_a_body_of_the_wrong_shape_is_a_typed_error(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    api.get("/workspace").respond(json={"id": "ws_1"})
    with pytest.raises(nexus_async.APIResponseError, match="does not match Workspace"):
        await client.get_info()


async def test_connection_failures_are_their_own_branch(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    api.get("/workspace").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(nexus_async.APIConnectionError) as caught:
        await client.get_info(max_retries=0)
    assert not isinstance(caught.value, nexus_async.APIStatusError)
    assert caught.value.may_have_reached_server is False


async def test_timeouts_are_connection_errors_and_timeout_errors(
    api: respx.MockRouter, client: AsyncClient
) -> None:
    api.get("/workspace").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(nexus_async.APITimeoutError) as caught:
        await client.get_info(max_retries=0)
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, nexus_async.APIConnectionError)
    assert caught.value.may_have_reached_server is True


async def test_per_call_timeout_reaches_httpx(api: respx.MockRouter, client: AsyncClient) -> None:
    route = api.get("/workspace").respond(json=payloads.workspace())
    await client.get_info(timeout=2.5)
    assert route.calls.last.request.extensions["timeout"]["read"] == 2.5


async def test_base_url_path_prefix_is_kept(sleeps: list[float]) -> None:
    with respx.mock(base_url="https://proxy.test/nexus") as router:
        route = router.get("/workspace").respond(json=payloads.workspace())
        async with AsyncClient(SECRET, endpoint="https://proxy.test/nexus/") as client:
            await client.get_info()
    assert route.calls.last.request.url == httpx.URL("https://proxy.test/nexus/workspace")


async def test_a_failed_call_s_traceback_has_no_retry_machinery(
    api: respx.MockRouter, project: Project, sleeps: list[float]
) -> None:
    import traceback

    api.get(f"/projects/{project.id}").respond(503, json={"message": "busy"})
    with pytest.raises(nexus_async.InternalServerError) as caught:
        await project.get_info(max_retries=2)
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert not [f for f in frames if "tenacity" in f.filename]
    assert len(sleeps) == 2  # it was retried all the same


async def test_an_asset_passed_as_pagination_says_what_to_write(
    api: respx.MockRouter, project: Project
) -> None:
    asset = nexus_async.Asset.model_validate(payloads.asset())
    with pytest.raises(nexus_async.InvalidInputError, match='filters=\\{"asset_ids"'):
        await project.annotations.list(asset)  # type: ignore[arg-type]
    with pytest.raises(nexus_async.InvalidInputError, match=r"got a Asset .*fields of Pagination"):
        await project.assets.list(asset)  # type: ignore[arg-type]
