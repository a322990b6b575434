"""Finding the files an ``add_path(path)`` call means, without reading any of them.

A file path means that file (whatever its extension: its type is checked when it is described).
A folder means every file below it, recursively, whose extension is in the scan set of the
upload kind, compared case-insensitively; hidden entries (``.*``, which covers macOS ``._*``
resource forks) and ``__MACOSX`` folders are skipped, and symbolic links to folders are not
followed (no cycles).

**Order.** Depth first, each folder's entries by name (a sub-folder's files come where its name
sorts), so runs are reproducible: for folders of up to ``DISCOVERY_SORT_RUN`` (10,000) entries
this is the order of the sorted relative paths. A larger folder is listed in sorted runs of
that many entries, in the order the file system returns them (the same on every run over the
same folder on the same machine): sorting it whole would hold every name of the folder at once.

:func:`walk_asset_files` streams: it reads the tree in worker-thread hops of a few hundred
entries, so memory is bounded by the folder depth and the run size, never by the number of
files, and the event loop never blocks. :func:`discover_files` and friends return whole lists
(for annotation imports and datasets, whose files the server takes in one session anyway).

Example::

    paths = await discover_asset_files("dataset/")
    labels = await discover_annotation_files("labels/")
    async for chunk in walk_asset_files("photos/"):
        ...
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncGenerator, Callable, Collection, Generator, Iterator
from pathlib import Path

import anyio.to_thread

from nexus_async._constants import DISCOVERY_FILES_PER_HOP, DISCOVERY_SORT_RUN
from nexus_async._exceptions import InvalidInputError
from nexus_async._validation import check_path
from nexus_async.uploads.mime import (
    ANNOTATION_SCAN_EXTENSIONS,
    ASSET_SCAN_EXTENSIONS,
    RGBD_SCAN_EXTENSIONS,
    file_extension,
)

__all__ = [
    "discover_annotation_files",
    "discover_asset_files",
    "discover_files",
    "walk_asset_files",
]

_SKIPPED_FOLDERS = frozenset({"__MACOSX"})
# A folder's run holds names, folders marked with a trailing NUL (no name contains one): NUL
# sorts before every character, so "a\0" sorts where the folder "a" sorts among its siblings.
_FOLDER_MARK = "\0"


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _scan_error(folder: Path, exc: OSError) -> InvalidInputError:
    return InvalidInputError(f"Cannot scan '{folder}': {exc.strerror or exc}")


class _Folder:
    """One open folder of a walk: its directory stream and the sorted run being listed."""

    def __init__(self, path: Path, accept: Callable[[str], bool], run_size: int) -> None:
        self.path = path
        self._accept = accept
        self._run_size = run_size
        self._run: list[str] = []  # reversed: the next entry is at the end
        try:
            self._entries = os.scandir(path)
        except OSError as exc:
            raise _scan_error(path, exc) from exc
        self._listed = False

    def _read_run(self) -> None:
        if self._listed:
            return
        run: list[str] = []
        try:
            for entry in self._entries:
                name = entry.name
                if _is_hidden(name):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if name not in _SKIPPED_FOLDERS:
                        run.append(name + _FOLDER_MARK)
                elif entry.is_file() and self._accept(name):
                    run.append(name)
                if len(run) >= self._run_size:
                    break
            else:
                self.close()
        except OSError as exc:
            raise _scan_error(self.path, exc) from exc
        run.sort(reverse=True)
        self._run = run

    def next_entry(self) -> str | None:
        """The next name (a folder's ends with the mark), or None when the folder is done."""
        if not self._run:
            self._read_run()
        return self._run.pop() if self._run else None

    def close(self) -> None:
        self._listed = True
        self._entries.close()


def _walk(root: Path, accept: Callable[[str], bool], run_size: int) -> Iterator[Path]:
    """Blocking generator: the files under ``root`` that ``accept`` takes, in walk order."""
    stack = [_Folder(root, accept, run_size)]
    try:
        while stack:
            folder = stack[-1]
            name = folder.next_entry()
            if name is None:
                stack.pop().close()
            elif name.endswith(_FOLDER_MARK):
                stack.append(_Folder(folder.path / name[:-1], accept, run_size))
            else:
                yield folder.path / name
    finally:
        for folder in stack:
            folder.close()


def _resolve(path: str | os.PathLike[str]) -> Path:
    resolved = check_path("file_path", path).expanduser()
    if not resolved.exists():
        raise InvalidInputError(f"No such file or directory: '{resolved}'")
    return resolved


def _files_below(
    path: str | os.PathLike[str], extensions: Collection[str], run_size: int
) -> Generator[Path, None, None]:
    """Blocking generator: ``path`` itself if it is a file, else the walk below the folder."""
    root = _resolve(path)
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise InvalidInputError(f"Not a regular file or directory: '{root}'")
    yield from _walk(root, lambda name: file_extension(name) in extensions, run_size)


def _none_found(path: str | os.PathLike[str], extensions: Collection[str], what: str) -> Exception:
    root = Path(path).expanduser()
    return InvalidInputError(
        f"No {what} files in folder '{root}' (looked for {', '.join(sorted(extensions))})"
    )


def _scan_sync(path: str | os.PathLike[str], extensions: Collection[str], what: str) -> list[Path]:
    found = list(_files_below(path, extensions, DISCOVERY_SORT_RUN))
    if not found:
        raise _none_found(path, extensions, what)
    return found


async def discover_files(
    path: str | os.PathLike[str], *, extensions: Collection[str]
) -> list[Path]:
    """``path`` itself if it is a file, else every file below it with one of ``extensions``
    (lower-case, with the dot; ``.nii.gz`` counts as one), in walk order.

    Raises :class:`~nexus_async.InvalidInputError` when the path does not exist or a folder
    holds no matching file.

    Example::

        ndjson = await discover_files("batches/", extensions={".ndjson"})
    """
    return await anyio.to_thread.run_sync(_scan_sync, path, frozenset(extensions), "matching")


async def discover_asset_files(path: str | os.PathLike[str], *, rgbd: bool = False) -> list[Path]:
    """The asset files ``path`` names: itself, or the image, video, NIfTI and DICOM files below
    the folder (only ``.zip`` archives in RGBD projects). Holds every path at once: an upload
    session streams them with :func:`walk_asset_files` instead.

    Example::

        for file in await discover_asset_files("~/photos"):
            ...
    """
    extensions = RGBD_SCAN_EXTENSIONS if rgbd else ASSET_SCAN_EXTENSIONS
    return await anyio.to_thread.run_sync(_scan_sync, path, extensions, "asset")


async def walk_asset_files(
    path: str | os.PathLike[str],
    *,
    rgbd: bool = False,
    per_hop: int = DISCOVERY_FILES_PER_HOP,
    run_size: int = DISCOVERY_SORT_RUN,
) -> AsyncGenerator[list[Path], None]:
    """The files :func:`discover_asset_files` finds, streamed in lists of at most ``per_hop``
    paths (one worker-thread hop each), in the same order. Raises the same errors; "no asset
    files" comes at the end of an empty walk. Close it early with ``contextlib.aclosing``.

    Example::

        async with contextlib.aclosing(walk_asset_files("photos/")) as walk:
            async for paths in walk:
                print(len(paths))
    """
    extensions = RGBD_SCAN_EXTENSIONS if rgbd else ASSET_SCAN_EXTENSIONS
    files = _files_below(path, extensions, run_size)  # runs only in the hops below
    found = False
    try:
        while chunk := await anyio.to_thread.run_sync(
            lambda: list(itertools.islice(files, per_hop))
        ):
            found = True
            yield chunk
    finally:
        files.close()  # closes the folders still open when the walk stopped early
    if not found:
        raise _none_found(path, extensions, "asset")


async def discover_annotation_files(path: str | os.PathLike[str]) -> list[Path]:
    """The annotation files ``path`` names: itself (any name), or the ``.json .csv .xml .labels
    .txt .nii.gz`` files below the folder (any case).

    Example::

        files = await discover_annotation_files("exports/coco")
    """
    return await anyio.to_thread.run_sync(
        _scan_sync, path, ANNOTATION_SCAN_EXTENSIONS, "annotation"
    )
