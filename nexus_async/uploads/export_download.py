"""Downloading a finished annotation export and extracting it safely (nexus-api.md §9.3, §13.2).

:func:`download_and_extract` streams the ZIP from its signed URL to a staging folder inside the
target directory (never whole in memory, through :meth:`StorageClient.download`, which checks
the HTTP status), checks **every** entry before extracting any, extracts into the staging
folder, then moves the files into place. Whatever fails — the download, a corrupt archive, an
unsafe entry — leaves nothing behind: no partial file, no staging folder, and a target folder
(and any parent folder) this call created is removed again.

An entry is refused (:class:`~nexus_async.ArchiveError`) when its name is absolute
(``/x``, ``C:x``, ``\\\\host``), has a ``..`` component, contains a NUL, resolves outside the
target, or is a symbolic link. (The official SDK extracts whatever it is given and never checks
the download's status, weakness 22.)

Example::

    local = await download_and_extract(export.download.url, "exports/")
    local.file_names  # ["cd067221d5a6e4007ccbb4afb5966535/train.csv", ...]
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import anyio
import anyio.to_thread

from nexus_async._exceptions import ArchiveError, InvalidInputError
from nexus_async.types.exports import LocalAnnotations
from nexus_async.uploads.storage import StorageClient

__all__ = ["check_archive_entries", "download_and_extract", "extract_zip_safely"]

STAGING_PREFIX = ".nexus-export-"
ARCHIVE_NAME = "export.zip"


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)  # 3 = Unix


def _unsafe_reason(name: str) -> str | None:
    """Why an entry name may not be extracted, or None when it is safe."""
    if "\0" in name:
        return "contains a NUL character"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "is an absolute path"
    parts = PurePosixPath(normalised).parts
    if ".." in parts:
        return "has a '..' component"
    if not parts:
        return "has an empty name"
    return None


def check_archive_entries(archive: zipfile.ZipFile, target: Path) -> list[zipfile.ZipInfo]:
    """Every entry of ``archive`` if all are safe to extract under ``target``; else
    :class:`~nexus_async.ArchiveError` naming the first unsafe entry. Reads no file data.

    Example::

        with zipfile.ZipFile("export.zip") as archive:
            entries = check_archive_entries(archive, Path("out"))
    """
    root = target.resolve()
    entries = archive.infolist()
    for info in entries:
        reason = _unsafe_reason(info.filename)
        if reason is None and _is_symlink(info):
            reason = "is a symbolic link"
        if reason is None:
            destination = (root / info.filename.replace("\\", "/")).resolve()
            if destination != root and root not in destination.parents:
                reason = "would be written outside the target folder"
        if reason is not None:
            raise ArchiveError(
                f"refusing to extract the archive: entry {info.filename!r} {reason}; "
                "nothing was extracted",
                path=target,
                entry=info.filename,
            )
    return entries


def _move_into_place(staging: Path, target: Path, names: list[str]) -> None:
    for name in names:
        source = staging / name
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, destination)


def extract_zip_safely(archive_path: Path, target: Path, staging: Path) -> list[str]:
    """Blocking: check every entry, extract all into ``staging``, then move the files into
    ``target``; return the file entries' names (directories left out).

    Raises :class:`~nexus_async.ArchiveError` for a corrupt archive (bad ZIP, CRC mismatch) or
    an unsafe entry; ``target`` is untouched then.
    """
    try:
        with zipfile.ZipFile(archive_path) as archive:
            entries = check_archive_entries(archive, target)
            files = [info for info in entries if not info.is_dir()]
            for info in entries:
                archive.extract(info, staging)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise ArchiveError(
            f"the downloaded export is not a valid ZIP archive ({exc}); nothing was extracted",
            path=target,
        ) from exc
    names = [info.filename.replace("\\", "/") for info in files]
    _move_into_place(staging, target, names)
    return names


def _prepare_target(path: str | os.PathLike[str]) -> tuple[Path, Path, Path | None]:
    """Create the target folder if needed and a staging folder in it; (target, staging, the
    outermost folder this call created — removed again on failure — or None)."""
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise InvalidInputError(f"'{target}' exists and is not a folder")
    created: Path | None = None
    for folder in (target, *target.parents):
        if folder.exists():
            break
        created = folder
    target.mkdir(parents=True, exist_ok=True)
    return target, Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target)), created


def _clean_up(staging: Path, created: Path | None) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)


async def download_and_extract(
    url: str,
    path: str | os.PathLike[str] = ".",
    *,
    storage: StorageClient | None = None,
) -> LocalAnnotations:
    """Stream the ZIP at ``url`` and extract it safely into ``path`` (created if missing).

    Returns ``LocalAnnotations(download_path=str(path), file_names=[...])``. Raises
    :class:`~nexus_async.StorageError` when the download fails and
    :class:`~nexus_async.ArchiveError` when the archive is corrupt or unsafe; in every failure
    nothing is left behind.

    Example::

        local = await download_and_extract(url, "exports/")
    """
    target, staging, created = await anyio.to_thread.run_sync(_prepare_target, path)
    succeeded = False
    try:
        archive_path = staging / ARCHIVE_NAME
        if storage is None:
            async with StorageClient(max_connections=1) as own_storage:
                await own_storage.download(url, archive_path)
        else:
            await storage.download(url, archive_path)
        extract_dir = staging / "files"
        names = await anyio.to_thread.run_sync(
            extract_zip_safely, archive_path, target, extract_dir
        )
        succeeded = True
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_clean_up, staging, None if succeeded else created)
    return LocalAnnotations(download_path=str(path), file_names=names)
