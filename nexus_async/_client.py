"""The entry point: :class:`AsyncClient`, its configuration, and workspace-level calls."""

from __future__ import annotations

import os
from types import TracebackType

import httpx
from typing_extensions import Self, Unpack

from nexus_async._clock import Clock
from nexus_async._constants import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    SECRET_KEY_ENV,
    SESSION_CREATIONS_PER_WINDOW,
)
from nexus_async._exceptions import ConfigurationError
from nexus_async._http import api_timeout
from nexus_async._logging import configure_from_env
from nexus_async._retry import RetryPolicy
from nexus_async._transport import Connections, RequestOptions, Transport
from nexus_async.resources.projects import Project
from nexus_async.types.projects import ProjectInfo
from nexus_async.types.workspace import Workspace
from nexus_async.uploads.rate_limit import SessionCreationLimits
from nexus_async.uploads.storage.engine import EngineChoice, check_choice

__all__ = ["AsyncClient"]


def _endpoint(value: str | None) -> str:
    endpoint = value or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    url = httpx.URL(endpoint)
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"endpoint must be an http(s) URL, got {endpoint!r}")
    return endpoint


def _mtls_pair(certificate: str | None, private_key: str | None) -> tuple[str, str] | None:
    if bool(certificate) != bool(private_key):
        raise ConfigurationError(
            "mTLS needs both mtls_certificate_file_path and mtls_private_key_file_path"
        )
    if certificate and private_key:
        for path in (certificate, private_key):
            if not os.path.isfile(path):
                raise ConfigurationError(f"mTLS file not found: {path}")
        return (certificate, private_key)
    return None


def _connections(
    secret_key: str | None,
    timeout: httpx.Timeout,
    http_client: httpx.AsyncClient | None,
    certificate: str | None,
    private_key: str | None,
) -> Connections:
    secret_key = secret_key or os.environ.get(SECRET_KEY_ENV) or None
    cert = _mtls_pair(certificate, private_key)
    if secret_key is None and cert is None:
        raise ConfigurationError(
            f"No credentials: pass secret_key=..., set ${SECRET_KEY_ENV}, or give the "
            "mTLS certificate and private key files"
        )
    return Connections(secret_key=secret_key, timeout=timeout, http_client=http_client, cert=cert)


class AsyncClient:
    """An asynchronous client of the Nexus API. One client is safe to share across tasks.

    Args:
        secret_key: the workspace secret key; defaults to ``$NEXUS_SECRET_KEY``.
        endpoint: the API base URL; defaults to ``$DATATURE_API_BASE_URL``, then
            ``https://api.datature.io`` (read when the client is made, not at import).
        timeout: seconds per request (or an :class:`httpx.Timeout`); default 60 s read, 10 s
            connect, 30 s wait for a free connection (then :class:`PoolTimeoutError`).
        max_retries: retries of a failed request (see :mod:`nexus_async._retry`); default 3.
        http_client: an :class:`httpx.AsyncClient` to use for API calls (you close it).
        mtls_certificate_file_path, mtls_private_key_file_path: authenticate with a client
            certificate instead of a secret key.
        upload_sessions_per_window: upload sessions this client creates per project in any
            300 s (the server allows 15); None disables the client-side wait.
        clock: where the client waits (retries, polls, the upload-session limit) and reads
            the time; a :class:`Clock` with a fake ``sleep`` runs those waits on virtual time.
        storage_engine: what transfers to signed storage URLs run on: ``"auto"`` (aiohttp
            on asyncio when it is installed, httpx otherwise, e.g. under trio), ``"aiohttp"``,
            ``"httpx"``, a factory building a
            :class:`~nexus_async.uploads.storage.StorageEngine` from
            :class:`~nexus_async.uploads.storage.EngineOptions`, or an engine (you close it).

    Example::

        async with AsyncClient("5aa41e8ba...") as client:
            workspace = await client.get_info()
            project = client.get_project("proj_b705a...")
            page = await project.assets.list({"limit": 10})
    """

    _transport: Transport
    _creation_limits: SessionCreationLimits

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        endpoint: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        mtls_certificate_file_path: str | None = None,
        mtls_private_key_file_path: str | None = None,
        upload_sessions_per_window: int | None = SESSION_CREATIONS_PER_WINDOW,
        clock: Clock | None = None,
        storage_engine: EngineChoice = "auto",
        _shares_with: AsyncClient | None = None,
    ) -> None:
        configure_from_env()
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {max_retries}")
        check_choice(storage_engine)
        self.endpoint = _endpoint(endpoint)
        if _shares_with is None:
            connections = _connections(
                secret_key,
                api_timeout(timeout),
                http_client,
                mtls_certificate_file_path,
                mtls_private_key_file_path,
            )
            clock = clock or Clock()
            retry = RetryPolicy(max_retries=max_retries, sleep=clock.sleep)
            self._creation_limits = SessionCreationLimits(upload_sessions_per_window, clock=clock)

        else:  # made by with_options: the same credentials, pools, clock and session budget
            connections = _shares_with._transport.connections
            clock = _shares_with._transport.clock
            storage_engine = _shares_with._transport.storage_engine
            retry = _shares_with._transport.retry.replace(max_retries=max_retries)
            self._creation_limits = _shares_with._creation_limits
        self._transport = Transport(
            base_url=self.endpoint,
            timeout=api_timeout(timeout),
            retry=retry,
            connections=connections,
            closes_connections=_shares_with is None,
            clock=clock,
            storage_engine=storage_engine,
        )

    def __repr__(self) -> str:
        return f"AsyncClient(endpoint={self.endpoint!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pools. Clients made by :meth:`with_options` share them, so
        close only the original."""
        await self._transport.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._transport.is_closed

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
    ) -> AsyncClient:
        """A client with other defaults, built and checked like any other, that shares this
        client's credentials, connections and upload-session budget. Example::

        patient = client.with_options(timeout=300, max_retries=8)
        """
        return AsyncClient(
            endpoint=self.endpoint,
            timeout=self._transport.timeout if timeout is None else timeout,
            max_retries=self._transport.retry.max_retries if max_retries is None else max_retries,
            _shares_with=self,
        )

    async def get_info(self, **options: Unpack[RequestOptions]) -> Workspace:
        """The workspace of the secret key."""
        return await self._transport.request("GET", "/workspace", cast_to=Workspace, **options)

    async def list_projects(self, **options: Unpack[RequestOptions]) -> list[Project]:
        """Every project of the workspace, as handles whose ``info`` is already filled in."""
        infos = await self._transport.request(
            "GET", "/workspace/projects", cast_to=list[ProjectInfo], **options
        )
        return [self._project(info.id, info) for info in infos]

    def get_project(self, project_id: str) -> Project:
        """A handle on one project (no I/O). ``proj_`` is added when missing."""
        return self._project(project_id)

    def _project(self, project_id: str, info: ProjectInfo | None = None) -> Project:
        return Project(self._transport, project_id, info, creation_limits=self._creation_limits)
