"""The one request pipeline every API call goes through.

URL building (path segments and query values percent-encoded, list parameters as ``key[]``),
the ``Secret-Key`` and ``User-Agent`` headers, JSON bodies, retries (:mod:`nexus_async._retry`),
status-to-exception mapping, and JSON-to-model parsing all live here. Resources never touch
httpx; storage transfers use their own client (:mod:`nexus_async.uploads.storage`) that has no
access to the secret key.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import platform
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, overload
from urllib.parse import quote

import httpx
import pydantic

from nexus_async._clock import Clock
from nexus_async._concurrency import in_shielded_call, request_sent
from nexus_async._constants import (
    API_MAX_CONNECTIONS,
    CLEANUP_CONNECTIONS,
    IDEMPOTENT_METHODS,
    SECRET_KEY_HEADER,
)
from nexus_async._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    InternalServerError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    UnprocessableEntityError,
)
from nexus_async._http import api_timeout, build_http_client, pool_timeout_error
from nexus_async._retry import RetryPolicy
from nexus_async._validation import check_request_timeout, check_retries
from nexus_async._version import __version__

if TYPE_CHECKING:
    from nexus_async.uploads.storage.engine import EngineChoice

__all__ = [
    "Connections",
    "RequestOptions",
    "Transport",
    "api_path",
    "encode_query",
    "merge_headers",
    "user_agent",
]

logger = logging.getLogger("nexus_async")

T = TypeVar("T")

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


class RequestOptions(TypedDict, total=False):
    """Per-call overrides accepted as keyword arguments by every API method.

    Example::

        await project.assets.get("a.png", timeout=5, max_retries=0)
        await project.assets.list(extra_headers={"X-Trace": "abc"}, extra_query={"beta": True})
    """

    timeout: float | None
    """Seconds for the whole request (connect, write, read); None keeps the client's default."""
    max_retries: int
    """How many times this call may be retried (0 disables retries)."""
    extra_headers: Mapping[str, str]
    """Headers added to this call's, replacing one of the same name (e.g. ``User-Agent``).
    ``Secret-Key`` (set once, on the client) and the headers that frame the request (``Host``,
    ``Content-Length``, ``Transfer-Encoding``, ``Connection``) are refused with
    :class:`~nexus_async.InvalidInputError` before anything is sent, never silently replaced."""
    extra_query: Mapping[str, object]
    """Query parameters added to this call's, encoded the same way (a list becomes ``key[]``
    items, None is left out); one of the same name replaces the method's own."""


_REFUSED_EXTRA_HEADERS = frozenset(
    name.lower()
    for name in (SECRET_KEY_HEADER, "Host", "Content-Length", "Transfer-Encoding", "Connection")
)


def merge_headers(
    headers: Mapping[str, str], extra_headers: Mapping[str, str] | None
) -> dict[str, str]:
    """``headers`` with ``extra_headers`` laid over them, names matched case-insensitively;
    a refused or non-string header raises :class:`InvalidInputError` (see
    :class:`RequestOptions`)."""
    if not extra_headers:
        return dict(headers)
    merged = {name.lower(): (name, value) for name, value in headers.items()}
    for name, value in extra_headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidInputError(
                f"extra_headers must map str to str, got {name!r}: {type(value).__name__}"
            )
        if name.lower() in _REFUSED_EXTRA_HEADERS:
            raise InvalidInputError(
                f"extra_headers cannot set {name!r}: the secret key is set on the client, and "
                "the other framing headers are computed from the request"
            )
        merged[name.lower()] = (name, value)
    return dict(merged.values())


def user_agent() -> str:
    """``nexus_async/<version> (Python/<version>; <OS>/<arch>)``, the shape of the official one."""
    return (
        f"nexus_async/{__version__} (Python/{platform.python_version()}; "
        f"{platform.system()}/{platform.machine()})"
    )


def api_path(*segments: str) -> str:
    """``/a/b/c`` with every segment percent-encoded, so ids and file names with ``/ # ? %``
    and spaces address exactly one resource.

    Example: ``api_path("projects", "proj_1", "assets", "my file#1.png")`` is
    ``/projects/proj_1/assets/my%20file%231.png``.
    """
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return quote(str(value), safe="")


def encode_query(params: Mapping[str, object] | None) -> str:
    """A query string (with its ``?``) in the wire convention of nexus-api.md §2.5, but encoded.

    ``None`` values are left out, booleans are ``true``/``false``, a list becomes one
    ``key[]=item`` per element, and every value is percent-encoded (``& # + = space`` survive).
    """
    pairs: list[str] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            list_key = quote(f"{key}[]", safe="")
            pairs.extend(f"{list_key}={_query_value(item)}" for item in value)
        else:
            pairs.append(f"{quote(key, safe='')}={_query_value(value)}")
    return "?" + "&".join(pairs) if pairs else ""


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)


def _status_error(response: httpx.Response) -> APIStatusError:
    try:
        body: object = response.json()
    except ValueError:
        body = response.text
    code: str | None = None
    if isinstance(body, dict):
        message = body.get("message")
        if not isinstance(message, str):
            message = json.dumps(body)
        raw_code = body.get("code")
        code = raw_code if isinstance(raw_code, str) else None
    else:
        message = str(body) or response.reason_phrase or "HTTP error"
    status = response.status_code
    error_type = _STATUS_ERRORS.get(status)
    if error_type is None:
        error_type = InternalServerError if status >= 500 else APIStatusError
    return error_type(
        message,
        response=response,
        body=body,
        code=code,
        retry_after=_parse_retry_after(response.headers.get("retry-after")),
    )


@functools.lru_cache(maxsize=256)
def _adapter(cast_to: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(cast_to)


def _decode_success(response: httpx.Response) -> Any:
    if not response.content:
        raise APIResponseError(
            f"The API answered {response.status_code} with an empty body where JSON was expected",
            response=response,
        )
    try:
        return response.json()
    except ValueError:
        snippet = response.text[:200]
        raise APIResponseError(
            f"The API answered {response.status_code} with a body that is not JSON: {snippet!r}",
            response=response,
        ) from None


class _LoopBinding:
    """The asyncio event loop a client's connections belong to, checked at every call: a pooled
    connection cannot move to another loop, and httpx would only say "Event loop is closed"."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def check(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not asyncio (trio through anyio): its nursery rules already bind clients
        if self._loop is None or self._loop.is_closed():
            if self._loop is not None:
                raise ConfigurationError(
                    "This AsyncClient was used in an event loop that has since closed (e.g. an "
                    "earlier asyncio.run()); its connections cannot move to another loop. Make "
                    "one client inside each asyncio.run(), or keep one loop for the process."
                )
            self._loop = loop
        elif loop is not self._loop:
            raise ConfigurationError(
                "This AsyncClient belongs to another running event loop; make one client per "
                "event loop (threads with their own loops need their own clients)."
            )


async def _trace_sending(event: str, info: dict[str, Any]) -> None:
    if event.endswith("send_request_headers.started"):
        request_sent()


class Connections:
    """What a client and every client :meth:`~nexus_async.AsyncClient.with_options` derives
    from it share: the credentials, the connection pools and the event loop they belong to.

    It owns its pools unless an :class:`httpx.AsyncClient` was injected (then its owner closes
    it, and rollbacks share it).
    """

    def __init__(
        self,
        *,
        secret_key: str | None,
        timeout: httpx.Timeout,
        http_client: httpx.AsyncClient | None = None,
        cert: tuple[str, str] | None = None,
    ) -> None:
        self.headers = {"User-Agent": user_agent(), "Accept": "application/json"}
        if secret_key:
            self.headers[SECRET_KEY_HEADER] = secret_key
        self.owns_http = http_client is None
        self.loop = _LoopBinding()
        self.http = http_client or build_http_client(
            max_connections=API_MAX_CONNECTIONS, timeout=timeout, cert=cert
        )
        # Rollbacks (cancel a session, abort a multipart upload, ...) have connections of their
        # own: they must not queue behind the calls whose failure they clean up after.
        self.cleanup_http = http_client or build_http_client(
            max_connections=CLEANUP_CONNECTIONS, timeout=timeout, cert=cert
        )

    def __repr__(self) -> str:
        return f"Connections(owns_http={self.owns_http})"

    async def aclose(self) -> None:
        """Close the pools, if these connections created them."""
        if self.owns_http:
            await self.http.aclose()
            await self.cleanup_http.aclose()


class Transport:
    """Sends API requests. Shared by every resource of one client; safe for concurrent use.

    Transports made on the same :class:`Connections` share its pools with their own defaults;
    only the one made with ``closes_connections=True`` closes them. ``clock`` is the client's,
    for the parts that wait between API calls (polls).
    """

    def __init__(
        self,
        *,
        base_url: str,
        timeout: httpx.Timeout,
        retry: RetryPolicy,
        connections: Connections,
        closes_connections: bool = True,
        clock: Clock | None = None,
        storage_engine: EngineChoice = "auto",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # What the storage transfers of this client's uploads, imports and downloads run on.
        self.storage_engine = storage_engine
        self.timeout = timeout
        self.retry = retry
        self.clock = clock or Clock()
        self.connections = connections
        self._closes_connections = closes_connections
        self._headers = connections.headers
        self._owns_http = connections.owns_http
        self._loop = connections.loop
        self._http = connections.http
        self._cleanup_http = connections.cleanup_http

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    @property
    def is_closed(self) -> bool:
        """Whether the underlying connection pool has been closed."""
        return self._http.is_closed

    async def aclose(self) -> None:
        """Close the connection pools, if this transport is their closer and created them."""
        if self._closes_connections:
            await self.connections.aclose()

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: type[T],
        query: Mapping[str, object] | None = ...,
        body: Mapping[str, Any] | None = ...,
        timeout: float | None = ...,
        max_retries: int | None = ...,
        extra_headers: Mapping[str, str] | None = ...,
        extra_query: Mapping[str, object] | None = ...,
        cleanup: bool = ...,
    ) -> T: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: None = ...,
        query: Mapping[str, object] | None = ...,
        body: Mapping[str, Any] | None = ...,
        timeout: float | None = ...,
        max_retries: int | None = ...,
        extra_headers: Mapping[str, str] | None = ...,
        extra_query: Mapping[str, object] | None = ...,
        cleanup: bool = ...,
    ) -> Any: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: type[T] | None = None,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        cleanup: bool = False,
    ) -> T | Any:
        """Send one API call (with retries) and return its JSON, parsed into ``cast_to``.

        ``path`` must already be encoded (build it with :func:`api_path`). ``cleanup=True``
        sends a rollback on the connections reserved for them, retried like an idempotent
        request: every rollback is safe to repeat (a second cancel answers 409, a second
        delete 404, and the callers accept both).
        """
        check_request_timeout(timeout)
        check_retries(max_retries)
        content = json.dumps(body).encode() if body is not None else None
        json_type = {"Content-Type": "application/json"} if content is not None else {}
        headers = merge_headers({**self._headers, **json_type}, extra_headers)
        self._loop.check()
        url = self.base_url + path + encode_query({**(query or {}), **(extra_query or {})})
        policy = self.retry if max_retries is None else self.retry.replace(max_retries=max_retries)
        describe = f"{method} {path}"
        try:
            async for attempt in policy.retrying(
                idempotent=cleanup or method in IDEMPOTENT_METHODS, describe=describe
            ):
                with attempt:
                    response = await self._send(
                        method, url, headers, content, timeout, cleanup=cleanup
                    )
                    data = _decode_success(response)
        except APIError as error:
            # Raised from here, the traceback shows the caller's line, not the retry machinery.
            raise error.with_traceback(None) from error.__cause__
        return data if cast_to is None else self._cast(cast_to, data, response)

    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeout: float | None,
        *,
        cleanup: bool,
    ) -> httpx.Response:
        http = self._cleanup_http if cleanup else self._http
        request = http.build_request(
            method,
            url,
            content=content,
            headers=headers,
            timeout=self.timeout if timeout is None else api_timeout(timeout),
            extensions=self._sending_extensions(),
        )
        started = time.perf_counter()
        try:
            response = await http.send(request)
        except httpx.TransportError as exc:
            error = self._transport_error(exc, request)
            exc.request = error.request or exc.request  # the cause must not keep the key either
            raise error from exc
        logger.debug(
            "%s %s -> %d (%.1f ms)",
            method,
            request.url.raw_path.decode("ascii", "replace"),
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        if not response.is_success:
            raise _status_error(response)
        return response

    def _transport_error(self, exc: httpx.TransportError, request: httpx.Request) -> APIError:
        """The SDK error for an httpx failure to get a response to ``request``."""
        method = request.method
        if isinstance(exc, httpx.PoolTimeout):
            size = API_MAX_CONNECTIONS if self._owns_http else None
            return pool_timeout_error(request, pool="api", max_connections=size)
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"{method} {request.url.path} timed out ({type(exc).__name__})",
                request=request,
                may_have_reached_server=not isinstance(exc, httpx.ConnectTimeout),
            )
        if isinstance(exc, httpx.ConnectError):
            return APIConnectionError(
                f"Could not connect to {request.url.host}: {exc}",
                request=request,
                may_have_reached_server=False,
            )
        return APIConnectionError(
            f"{method} {request.url.path} failed: {type(exc).__name__}: {exc}", request=request
        )

    def _sending_extensions(self) -> dict[str, Any] | None:
        """In a shielded creation, report when the request starts to go out (a trace of our own
        pool); with an injected client that may not trace, count it as sent at once."""
        if not in_shielded_call():
            return None
        if not self._owns_http:
            request_sent()
            return None
        return {"trace": _trace_sending}

    @staticmethod
    def _cast(cast_to: type[T], data: Any, response: httpx.Response) -> T:
        try:
            target: Any = cast_to
            result: T = _adapter(target).validate_python(data)
            return result
        except pydantic.ValidationError as exc:
            raise APIResponseError(
                f"The API's answer does not match {getattr(cast_to, '__name__', cast_to)}: "
                f"{exc.error_count()} problem(s), first: {exc.errors()[0]['msg']} at "
                f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}",
                response=response,
            ) from None
