"""Status errors: one class per status with a ``Literal`` status code, and the request id."""

from __future__ import annotations

import typing
from typing import Literal

import pytest
import respx

import nexus_async
from nexus_async import Project


@pytest.mark.parametrize(
    ("error_type", "status"),
    [
        (nexus_async.BadRequestError, 400),
        (nexus_async.AuthenticationError, 401),
        (nexus_async.ForbiddenError, 403),
        (nexus_async.NotFoundError, 404),
        (nexus_async.ConflictError, 409),
        (nexus_async.UnprocessableEntityError, 422),
        (nexus_async.RateLimitError, 429),
    ],
)
def test_each_status_class_declares_its_literal_status_code(
    error_type: type[nexus_async.APIStatusError], status: int
) -> None:
    assert typing.get_type_hints(error_type)["status_code"] == Literal[status]


def test_the_generic_and_5xx_classes_keep_int_status_codes() -> None:
    assert typing.get_type_hints(nexus_async.APIStatusError)["status_code"] is int
    assert typing.get_type_hints(nexus_async.InternalServerError)["status_code"] is int


@pytest.mark.parametrize("header", ["X-Request-Id", "Request-Id", "x-request-id"])
async def test_request_id_is_read_from_the_response(
    api: respx.MockRouter, project: Project, header: str
) -> None:
    body = {"code": "ResourceNotFoundError", "message": "Requested Project Resource Not Found"}
    api.get(f"/projects/{project.id}").respond(404, json=body, headers={header: "req-42"})
    with pytest.raises(nexus_async.NotFoundError) as caught:
        await project.get_info()
    assert caught.value.request_id == "req-42"
    assert "request_id='req-42'" in repr(caught.value)


async def test_request_id_is_none_when_the_server_sends_none(
    api: respx.MockRouter, project: Project
) -> None:
    api.get(f"/projects/{project.id}").respond(409, json={"code": "C", "message": "busy"})
    with pytest.raises(nexus_async.ConflictError) as caught:
        await project.get_info()
    assert caught.value.request_id is None
    assert "request_id" not in repr(caught.value)


async def test_a_malformed_success_carries_the_request_id_too(
    api: respx.MockRouter, project: Project
) -> None:
    api.get(f"/projects/{project.id}").respond(
        200, text="not json", headers={"X-Request-Id": "req-7"}
    )
    with pytest.raises(nexus_async.APIResponseError) as caught:
        await project.get_info()
    assert caught.value.request_id == "req-7"


def test_an_error_built_without_a_response_has_no_request_id() -> None:
    assert nexus_async.APIResponseError("empty").request_id is None
