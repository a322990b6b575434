"""With DEBUG logging everywhere, the secret key and URL signatures never show: not in logs,
reprs or error messages, and the key never reaches the storage host."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
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


def _reachable_texts(root: object) -> list[str]:
    """Every string and header value reachable from ``root`` through attributes, containers,
    httpx requests and responses, and exception chains (``__cause__``, ``__context__``).

    Tracebacks are left out: their frames hold the client itself, which must know the key.
    """
    seen: set[int] = set()
    texts: list[str] = []
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if id(item) in seen or item is None or isinstance(item, (int, float, bool, type)):
            continue
        seen.add(id(item))
        if isinstance(item, (str, bytes)):
            texts.append(item if isinstance(item, str) else item.decode("latin-1"))
        elif isinstance(item, httpx.Headers):
            texts += [f"{name}: {value}" for name, value in item.multi_items()]
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack += list(item)
        elif isinstance(item, (httpx.Request, httpx.Response)):
            stack += [item.headers, item.url.raw_path, item.__dict__]
            if isinstance(item, httpx.Response):
                stack.append(item.request)
        elif isinstance(item, BaseException):
            stack += [item.args, item.__cause__, item.__context__, vars(item)]
        elif hasattr(item, "__dict__") and type(item).__module__.startswith(("httpx", "nexus")):
            stack.append(vars(item))
    return texts


def _assert_key_unreachable(error: BaseException, key: str) -> None:
    texts = _reachable_texts(error)
    assert any("[REDACTED]" in text for text in texts), "the request was kept, redacted"
    assert not [text for text in texts if key in text]


@pytest.mark.parametrize(
    "fault",
    [
        {"route": "project_get", "status": 500},  # 5xx: APIStatusError, with response
        {"route": "project_get", "status": 404},  # 4xx
        {"route": "project_get", "drop": True},  # no answer: an httpx error as the cause
    ],
    ids=["500", "404", "dropped"],
)
async def test_no_error_reaches_the_secret_key_through_any_attribute(
    server: EmulatorServer, fault: dict[str, object], sleeps: list[float]
) -> None:
    server.control.add_fault(fault)
    async with AsyncClient(server.secret_key, endpoint=server.base_url, max_retries=2) as client:
        with pytest.raises(nexus_async.APIError) as raised:
            await client.get_project(server.project_id or "").get_info()
    error = raised.value
    assert error.request is not None
    assert error.request.headers["Secret-Key"] == "[REDACTED]"
    if isinstance(error, nexus_async.APIStatusError):
        assert error.response.request.headers["Secret-Key"] == "[REDACTED]"
    else:
        assert isinstance(error.__cause__, httpx.TransportError)
        assert error.__cause__.request.headers["Secret-Key"] == "[REDACTED]"
    _assert_key_unreachable(error, server.secret_key)


async def test_a_malformed_success_answer_does_not_reach_the_key(
    server: EmulatorServer, sleeps: list[float]
) -> None:
    server.control.add_fault({"route": "project_get", "status": 200, "message": "not json"})
    async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
        with pytest.raises(nexus_async.APIError) as raised:
            await client.get_project(server.project_id or "").get_info()
    _assert_key_unreachable(raised.value, server.secret_key)
