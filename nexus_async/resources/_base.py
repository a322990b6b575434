"""What every project-scoped resource shares: the transport, the project id, path building."""

from __future__ import annotations

from nexus_async._exceptions import InvalidInputError
from nexus_async._transport import Transport, api_path

__all__ = ["ProjectResource", "require_id"]


def require_id(value: object, name: str) -> str:
    """``value`` as an id or file name; an empty or non-string value is refused before any
    request (an empty segment would address the collection instead of one item)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}")
    return value


class ProjectResource:
    """Base of the resources reached from a project handle (``project.assets`` ...)."""

    def __init__(self, transport: Transport, project_id: str) -> None:
        self._transport = transport
        self.project_id = project_id

    def _path(self, *segments: str) -> str:
        return api_path("projects", self.project_id, *segments)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(project_id={self.project_id!r})"
