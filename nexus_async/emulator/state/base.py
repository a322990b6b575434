"""Shared storage and helpers of the state layer."""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from nexus_async.emulator.blobs import BlobStore
from nexus_async.emulator.clock import Clock
from nexus_async.emulator.config import EmulatorConfig
from nexus_async.emulator.errors import bad_request, forbidden, not_found
from nexus_async.emulator.ids import decode_cursor, encode_cursor
from nexus_async.emulator.state.models import (
    Dataset,
    Export,
    ImportSession,
    MetadataValue,
    MultipartUpload,
    Operation,
    Project,
    UploadSession,
    Workspace,
)

T = TypeVar("T")


class ProjectOwned(Protocol):
    """Anything that belongs to one project."""

    @property
    def project_id(self) -> str: ...


OwnedT = TypeVar("OwnedT", bound=ProjectOwned)


def owned_by(project: Project, items: Mapping[str, OwnedT], key: str, what: str) -> OwnedT:
    """``items[key]`` if it belongs to ``project``; 404 otherwise, so an id of another
    project is as unknown as an id that never existed."""
    item = items.get(key)
    if item is None or item.project_id != project.id:
        raise not_found(what)
    return item


@dataclass
class CreationCounters:
    """How many resources were created (to prove clients never duplicate POSTs)."""

    upload_sessions: int = 0
    annotations: int = 0
    exports: int = 0
    datasets: int = 0
    import_sessions: int = 0
    multipart_uploads: int = 0


@dataclass
class Page:
    """One page of a cursor-paginated list."""

    items: list[Any]
    next_page: str | None
    prev_page: str | None


@dataclass
class Store:
    """Every stored resource, indexed by id."""

    workspaces: dict[str, Workspace] = field(default_factory=dict)
    workspace_by_key: dict[str, str] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    upload_sessions: dict[str, UploadSession] = field(default_factory=dict)
    multipart_uploads: dict[str, MultipartUpload] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    exports: dict[str, Export] = field(default_factory=dict)
    import_sessions: dict[str, ImportSession] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    created: CreationCounters = field(default_factory=CreationCounters)
    seq: int = 0


class StateBase:
    """Base of the state mixins: configuration, clock, blob store and the ``Store``."""

    def __init__(self, config: EmulatorConfig, clock: Clock, blobs: BlobStore) -> None:
        self.config = config
        self.clock = clock
        self.blobs = blobs
        self.store = Store()
        self.rng = random.Random(config.seed)
        self.session_closed_listeners: list[Callable[[str], None]] = []

    def now(self) -> int:
        """Current time in ms."""
        return self.clock.now_ms()

    def on_session_closed(self, session_id: str) -> None:
        """Tell the listeners (e.g. storage workers) that an upload session takes no more files."""
        for listener in self.session_closed_listeners:
            listener(session_id)

    def next_seq(self) -> int:
        """A strictly increasing sequence number (pagination position key)."""
        self.store.seq += 1
        return self.store.seq

    def reset_store(self) -> None:
        """Forget every resource."""
        self.store = Store()

    # -- access control --------------------------------------------------------------

    def workspace_for_key(self, secret_key: str | None) -> Workspace:
        """The workspace of a secret key; 403 when missing or unknown."""
        if not secret_key:
            raise forbidden()
        workspace_id = self.store.workspace_by_key.get(secret_key)
        if workspace_id is None:
            raise forbidden()
        return self.store.workspaces[workspace_id]

    def project_for(self, secret_key: str | None, project_id: str) -> Project:
        """The project ``project_id`` of the key's workspace (403 other workspace, 404 unknown)."""
        workspace = self.workspace_for_key(secret_key)
        project = self.store.projects.get(project_id)
        if project is None:
            raise not_found("Project")
        if project.workspace_id != workspace.id:
            raise forbidden()
        return project

    # -- shared rules ----------------------------------------------------------------

    def validate_custom_metadata(self, value: object) -> dict[str, MetadataValue]:
        """A flat str/int/float/bool map within the size cap, else 400."""
        if not isinstance(value, dict):
            raise bad_request("customMetadata must be an object")
        for key, item in value.items():
            if not isinstance(item, str | int | float | bool) or (
                isinstance(item, float) and not math.isfinite(item)
            ):
                raise bad_request(
                    f"customMetadata value of {key!r} must be a string, number or boolean"
                )
        if len(json.dumps(value)) > self.config.custom_metadata_max_bytes:
            raise bad_request(
                f"customMetadata exceeds {self.config.custom_metadata_max_bytes} bytes"
            )
        return dict(value)

    def paginate(
        self,
        items: Sequence[T],
        position: Callable[[T], int],
        cursor: str | None,
        limit: int,
    ) -> Page:
        """Cut one page out of ``items`` (sorted by ``position``) per nexus-api.md §2.11."""
        if limit < 1 or limit > self.config.max_page_limit:
            raise bad_request(f"limit must be between 1 and {self.config.max_page_limit}")
        start = 0
        if cursor:
            direction, key = decode_cursor(cursor)
            first_at_or_after = next(
                (i for i, item in enumerate(items) if position(item) >= key), len(items)
            )
            start = first_at_or_after if direction == "f" else max(0, first_at_or_after - limit)
        end = min(len(items), start + limit)
        page = list(items[start:end])
        next_page = encode_cursor("f", position(items[end])) if end < len(items) else None
        prev_page = encode_cursor("b", position(items[start])) if start > 0 and page else None
        return Page(page, next_page, prev_page)


def require_str(body: dict[str, Any], key: str, *, allow_empty: bool = False) -> str:
    """``body[key]`` as a string, else 400."""
    value = body.get(key)
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise bad_request(f"{key} must be a non-empty string")
    return value


_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Unicode category ``Cc`` (C0, DEL, C1), matched by one regex search instead of a per-character
``unicodedata`` call (a 5,000-file session checks 5,000 names)."""


def require_filename(body: dict[str, Any], key: str = "filename", *, base_name: bool = True) -> str:
    """``body[key]`` as a file name without control characters (NUL, newline, ...), which no
    file system or log line handles well, and (``base_name``) without a directory part (no
    ``/``, ``\\``, ``.`` or ``..``); else 400."""
    filename = require_str(body, key)
    if base_name and ("/" in filename or "\\" in filename or filename in (".", "..")):
        raise bad_request(f"{key} {filename!r} must be a base name")
    if _CONTROL_CHARACTER.search(filename):
        raise bad_request(f"{key} {filename!r} must not contain control characters")
    return filename


def require_int(body: dict[str, Any], key: str) -> int:
    """``body[key]`` as an integer (not a bool), else 400."""
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"{key} must be an integer")
    return value


def require_str_list(value: object, key: str) -> list[str]:
    """A list of non-empty strings, else 400."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise bad_request(f"{key} must be a list of non-empty strings")
    return list(value)


def optional_str(body: dict[str, Any], key: str) -> str | None:
    """``body[key]`` as a string when present, else 400."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{key} must be a string")
    return value


def require_object(value: object, key: str) -> dict[str, Any]:
    """A JSON object, else 400."""
    if not isinstance(value, dict):
        raise bad_request(f"{key} must be an object")
    return value
