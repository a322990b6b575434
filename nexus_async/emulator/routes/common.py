"""HTTP helpers shared by the route modules: query/body parsing, auth, responses."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus_async.emulator.blobs import SignedTarget
from nexus_async.emulator.errors import bad_request
from nexus_async.emulator.state.models import Project

if TYPE_CHECKING:
    from nexus_async.emulator.core import Emulator

INGEST_PREFIX = "/_storage/ingest/"
Handler = Callable[[Request], Awaitable[Response]]
QueryValue = str | list[str]


class JSONResponse(Response):
    """A compact JSON response (``application/json``)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` compactly."""
        return json.dumps(content, separators=(",", ":")).encode("utf-8")


def parse_query(raw: bytes) -> dict[str, QueryValue]:
    """Parse a query string per nexus-api.md §2.5.

    Split on ``&``, drop empty segments and segments without ``=``, split at the first ``=``,
    percent-decode without turning ``+`` into a space, strip a trailing ``[]`` from keys and
    collect list keys (or repeated keys) into lists.
    """
    result: dict[str, QueryValue] = {}
    if not raw:
        return result
    for segment in raw.decode("latin-1").split("&"):
        if "=" not in segment:
            continue
        raw_key, raw_value = segment.split("=", 1)
        key = unquote(raw_key)
        value = unquote(raw_value)
        is_list = key.endswith("[]")
        if is_list:
            key = key[:-2]
        existing = result.get(key)
        if existing is None:
            result[key] = [value] if is_list else value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            result[key] = [existing, value]
    return result


def query_of(request: Request) -> dict[str, QueryValue]:
    """The parsed query string of ``request``."""
    return parse_query(request.scope.get("query_string", b""))


def single(query: dict[str, QueryValue], key: str) -> str | None:
    """A scalar query parameter (the last value when repeated)."""
    value = query.get(key)
    if isinstance(value, list):
        return value[-1] if value else None
    return value


def as_list(query: dict[str, QueryValue], key: str) -> list[str] | None:
    """A list query parameter (a scalar becomes a one-element list)."""
    value = query.get(key)
    if value is None:
        return None
    return value if isinstance(value, list) else [value]


def page_query(query: dict[str, QueryValue]) -> dict[str, Any]:
    """``page`` and ``limit`` (default 100) of a paginated list; a non-integer limit is a 400."""
    limit_raw = single(query, "limit")
    try:
        limit = int(limit_raw) if limit_raw is not None else 100
    except ValueError:
        raise bad_request("limit must be an integer") from None
    return {"page": single(query, "page") or None, "limit": limit}


def include_attributes(query: dict[str, QueryValue]) -> bool:
    """``includeAttributes=true|false`` (anything else is a 400)."""
    value = single(query, "includeAttributes")
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise bad_request("includeAttributes must be true or false")


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}``; anything else is a 400."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise bad_request("Request body must be valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body


def origin(request: Request) -> str:
    """``scheme://host`` the client used to reach the emulator."""
    scope = request.scope
    host = request.headers.get("host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


class Context:
    """What every route handler needs: the emulator and shortcuts for auth and signing."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.state = emulator.state
        self.signer = emulator.signer

    def project(self, request: Request) -> Project:
        """The ``{pid}`` project, checked against the ``Secret-Key``."""
        return self.state.project_for(request.headers.get("secret-key"), request.path_params["pid"])

    def storage_origin(self, request: Request, path: str) -> str:
        """Where a storage path is served: item uploads on the storage workers' origin when
        there are workers, everything else on this emulator's origin."""
        workers = self.emulator.storage_workers
        if workers is not None and path.startswith(INGEST_PREFIX):
            return workers.origin
        return origin(request)

    def signed_url(self, request: Request, target: SignedTarget) -> str:
        """The absolute signed URL of a storage target (see ``storage_origin``)."""
        return self.storage_origin(request, target.path) + self.signer.sign(target)

    def route(self, path: str, method: str, name: str, handler: Handler) -> Route:
        """A Starlette route that counts its requests in the stats."""
        counts = self.emulator.counters.requests

        async def endpoint(request: Request) -> Response:
            counts[name] += 1
            return await handler(request)

        return Route(path, endpoint, methods=[method], name=name)


def ok(content: Any) -> JSONResponse:
    """200 with a JSON body."""
    return JSONResponse(content)


def ok_json_text(body: bytes) -> Response:
    """200 with a body that is JSON text already."""
    return Response(body, media_type=JSONResponse.media_type)


def deleted(resource_id: str) -> JSONResponse:
    """The ``DeleteResponse``."""
    return JSONResponse({"deleted": True, "id": resource_id})
