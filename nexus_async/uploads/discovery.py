"""Finding the files an ``add_path(path)`` call means, without reading any of them.

A file path means that file (whatever its extension: its type is checked when it is described).
A folder means every file below it, recursively, whose extension is in the scan set of the
upload kind, compared case-insensitively; hidden entries (``.*``, which covers macOS ``._*``
resource forks) and ``__MACOSX`` folders are skipped, symbolic links to folders are not
followed (no cycles), and the result is sorted by relative path so runs are reproducible.

The walk runs in one worker thread: a folder of 100 000 files never blocks the event loop.

Example::

    paths = await discover_asset_files("dataset/")
    labels = await discover_annotation_files("labels/")
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from pathlib import Path

import anyio.to_thread

from nexus_async._exceptions import InvalidInputError
from nexus_async._validation import check_path
from nexus_async.uploads.mime import (
    ANNOTATION_SCAN_EXTENSIONS,
    ASSET_SCAN_EXTENSIONS,
    RGBD_SCAN_EXTENSIONS,
    file_extension,
)

__all__ = ["discover_annotation_files", "discover_asset_files", "discover_files"]

_SKIPPED_FOLDERS = frozenset({"__MACOSX"})


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(root: Path, accept: Callable[[str], bool]) -> list[Path]:
    """Blocking: the files under ``root`` that ``accept`` takes, sorted."""
    accepted: list[tuple[str, ...]] = []
    pending: list[tuple[str, ...]] = [()]
    while pending:
        relative = pending.pop()
        folder = root.joinpath(*relative)
        try:
            entries = os.scandir(folder)
        except OSError as exc:
            raise InvalidInputError(f"Cannot scan '{folder}': {exc.strerror or exc}") from exc
        with entries:
            for entry in entries:
                if _is_hidden(entry.name):
                    continue
                parts = (*relative, entry.name)
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in _SKIPPED_FOLDERS:
                        pending.append(parts)
                elif not entry.is_file():
                    continue
                elif accept(entry.name):
                    accepted.append(parts)
    accepted.sort()
    return [root.joinpath(*parts) for parts in accepted]


def _resolve(path: str | os.PathLike[str]) -> Path:
    resolved = check_path("file_path", path).expanduser()
    if not resolved.exists():
        raise InvalidInputError(f"No such file or directory: '{resolved}'")
    return resolved


def _scan_sync(path: str | os.PathLike[str], extensions: Collection[str], what: str) -> list[Path]:
    root = _resolve(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise InvalidInputError(f"Not a regular file or directory: '{root}'")
    found = _walk(root, lambda name: file_extension(name) in extensions)
    if not found:
        raise InvalidInputError(
            f"No {what} files in folder '{root}' (looked for {', '.join(sorted(extensions))})"
        )
    return found


async def discover_files(
    path: str | os.PathLike[str], *, extensions: Collection[str]
) -> list[Path]:
    """``path`` itself if it is a file, else every file below it with one of ``extensions``
    (lower-case, with the dot; ``.nii.gz`` counts as one), sorted.

    Raises :class:`~nexus_async.InvalidInputError` when the path does not exist or a folder
    holds no matching file.

    Example::

        ndjson = await discover_files("batches/", extensions={".ndjson"})
    """
    return await anyio.to_thread.run_sync(_scan_sync, path, frozenset(extensions), "matching")


async def discover_asset_files(path: str | os.PathLike[str], *, rgbd: bool = False) -> list[Path]:
    """The asset files ``path`` names: itself, or the image, video, NIfTI and DICOM files below
    the folder (only ``.zip`` archives in RGBD projects).

    Example::

        for file in await discover_asset_files("~/photos"):
            ...
    """
    extensions = RGBD_SCAN_EXTENSIONS if rgbd else ASSET_SCAN_EXTENSIONS
    return await anyio.to_thread.run_sync(_scan_sync, path, extensions, "asset")


async def discover_annotation_files(path: str | os.PathLike[str]) -> list[Path]:
    """The annotation files ``path`` names: itself (any name), or the ``.json .csv .xml .labels
    .txt .nii.gz`` files below the folder (any case).

    Example::

        files = await discover_annotation_files("exports/coco")
    """
    return await anyio.to_thread.run_sync(
        _scan_sync, path, ANNOTATION_SCAN_EXTENSIONS, "annotation"
    )
