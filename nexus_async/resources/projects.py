"""The project handle: ``client.get_project(...)`` and its resources (nexus-api.md §4)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

from typing_extensions import Unpack

from nexus_async._constants import PROJECT_ID_PREFIX
from nexus_async._models import coerce_params
from nexus_async._transport import RequestOptions, Transport, api_path
from nexus_async.resources._base import require_id
from nexus_async.resources.annotations import Annotations
from nexus_async.resources.assets import Assets
from nexus_async.resources.datasets import Batch, Datasets
from nexus_async.resources.operations import Operations
from nexus_async.resources.workflows import Workflows
from nexus_async.types.params import ProjectParams
from nexus_async.types.projects import ProjectInfo, ProjectMetadata, ProjectStatistic
from nexus_async.uploads.rate_limit import SessionCreationLimits

__all__ = ["Project", "normalize_project_id"]

T = TypeVar("T")


def normalize_project_id(project_id: str) -> str:
    """``proj_`` + the key, as the official SDK does (``abc`` -> ``proj_abc``)."""
    require_id(project_id, "project_id")
    if project_id.startswith(PROJECT_ID_PREFIX):
        return project_id
    return PROJECT_ID_PREFIX + project_id


class _FromInfo(Generic[T]):
    """A project attribute read from the last :class:`ProjectInfo` fetched."""

    def __set_name__(self, owner: type[Project], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, project: None, owner: type[Project]) -> _FromInfo[T]: ...

    @overload
    def __get__(self, project: Project, owner: type[Project]) -> T: ...

    def __get__(self, project: Project | None, owner: type[Project]) -> T | _FromInfo[T]:
        if project is None:
            return self
        if project.info is None:
            raise AttributeError(
                f"Project.{self.name} is read from the project's info: call "
                "`await project.get_info()` first (client.list_projects() fills it in)"
            )
        value: T = getattr(project.info, self.name)
        return value


class Project:
    """A handle on one project; making one does no I/O.

    ``info`` holds the last :class:`ProjectInfo` fetched (by :meth:`get_info`, :meth:`update`
    or ``client.list_projects()``); ``project.name`` (and every other field of it) and
    ``project["name"]`` read from it. Example::

        project = client.get_project("proj_b705a...")
        info = await project.get_info()
        page = await project.assets.list()
        names = [p.name for p in await client.list_projects()]
    """

    name: _FromInfo[str] = _FromInfo()
    workspace_id: _FromInfo[str] = _FromInfo()
    type: _FromInfo[str] = _FromInfo()
    create_date: _FromInfo[int] = _FromInfo()
    localization: _FromInfo[str] = _FromInfo()
    tags: _FromInfo[list[str]] = _FromInfo()
    groups: _FromInfo[list[str]] = _FromInfo()
    statistic: _FromInfo[ProjectStatistic] = _FromInfo()

    def __init__(
        self,
        transport: Transport,
        project_id: str,
        info: ProjectInfo | None = None,
        *,
        creation_limits: SessionCreationLimits,
    ):
        self.id = normalize_project_id(project_id)
        self.info = info
        self._transport = transport
        self.operations = Operations(transport, self.id)
        self.assets = Assets(
            transport, self.id, operations=self.operations, creation_limits=creation_limits
        )
        self.annotations = Annotations(transport, self.id, operations=self.operations)
        self.workflows = Workflows(transport, self.id)
        self.batch = Batch(Datasets(transport, self.id))

    def __repr__(self) -> str:
        name = f", name={self.info.name!r}" if self.info else ""
        return f"Project(id={self.id!r}{name})"

    def __getitem__(self, key: str) -> Any:
        if key == "id":
            return self.id
        if self.info is None:
            raise KeyError(f"{key!r}: call `await project.get_info()` first")
        return self.info[key]

    async def get_info(self, **options: Unpack[RequestOptions]) -> ProjectInfo:
        """The project's name, type, tags, groups and statistics."""
        self.info = await self._transport.request(
            "GET", api_path("projects", self.id), cast_to=ProjectInfo, **options
        )
        return self.info

    async def update(
        self, project: ProjectMetadata | ProjectParams, **options: Unpack[RequestOptions]
    ) -> ProjectInfo:
        """Rename the project: ``{"name": "My Cool Project"}``."""
        body = coerce_params(ProjectMetadata, project).to_wire()
        self.info = await self._transport.request(
            "PATCH", api_path("projects", self.id), cast_to=ProjectInfo, body=body, **options
        )
        return self.info
