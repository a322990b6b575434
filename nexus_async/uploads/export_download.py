"""Downloading a finished annotation export and extracting it safely (nexus-api.md §9.3, §13.2).

:func:`download_and_extract` streams the ZIP from its signed URL to a staging folder inside the
target directory (never whole in memory, through :meth:`StorageClient.download`, which checks
the HTTP status), checks **every** entry before extracting any, extracts into the staging
folder, then moves the files into place. Whatever fails — the download, a corrupt archive, an
unsafe entry — leaves nothing behind: no partial file, no staging folder, and a target folder
(and any parent folder) this call created is removed again.

An entry is refused (:class:`~nexus_async.ArchiveError`) when its name is absolute
(``/x``, ``C:x``, ``\\\\host``), has a ``..`` component, contains a control character,
resolves outside the target, is a symbolic link, appears twice, or is both a file and a
folder (``a`` and ``a/b``), in the archive or against what the target already holds. Names
made on Windows (``proj\\train.csv``) are normalised to ``proj/train.csv``. (The official SDK
extracts whatever it is given and never checks the download's status, weakness 22.)

Everything is bounded by :class:`ArchiveLimits` (finite defaults, each configurable): the bytes
downloaded (counted while streaming, so an endless body stops at the limit), the entry count,
the total uncompressed size, the compression ratio, and the name length. Sizes come from the
archive's directory, checked before anything is extracted; :mod:`zipfile` never writes more
than an entry's declared size (and a lying entry fails its CRC check), so the check holds.

Example::

    local = await download_and_extract(export.download.url, "exports/")
    local.file_names  # ["cd067221d5a6e4007ccbb4afb5966535/train.csv", ...]
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import anyio
import anyio.to_thread

from nexus_async._exceptions import ArchiveError, InvalidInputError
from nexus_async.types.exports import LocalAnnotations
from nexus_async.uploads.storage import StorageClient

__all__ = [
    "ArchiveLimits",
    "check_archive_entries",
    "download_and_extract",
    "extract_zip_safely",
]

STAGING_PREFIX = ".nexus-export-"
ARCHIVE_NAME = "export.zip"
COPY_CHUNK = 1024 * 1024
# Entries smaller than this are never refused for their ratio: a tiny file cannot be a bomb,
# and its ratio is dominated by headers.
RATIO_FLOOR_BYTES = 1024 * 1024

GiB = 1024**3


@dataclasses.dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on a downloaded export archive; exceeding one raises
    :class:`~nexus_async.ArchiveError` naming it, with nothing left behind.

    The defaults are far above what an annotation export holds (text: CSV, JSON, XML, YOLO
    files; one file per asset at most) yet bounded against hostile archives:

    * ``max_download_bytes`` (2 GiB): one million boxes of CSV are about 100 MB uncompressed.
    * ``max_total_size`` (8 GiB): the largest uncompressed size extracted; four times the
      download limit, as annotation text compresses about 4-10 times.
    * ``max_ratio`` (200): uncompressed / compressed size of an entry of 1 MiB or more.
      Annotation text compresses 4-20 times; deflate's maximum is about 1 030, which zip bombs
      use (1 MB extracting to 1 GB).
    * ``max_entries`` (50 000): the CSV and COCO formats write a handful of files; the
      one-file-per-asset formats (Pascal VOC, YOLO) one per asset, so a project of more than
      50 000 assets exported so needs a higher limit (the error says how).
    * ``max_name_bytes`` (255): bytes of UTF-8 in one path component, the limit of ext4, APFS
      and NTFS; ``max_path_bytes`` (1 024) for a whole entry name.

    Example::

        await project.annotations.download_exported_file(
            op_id, "out/", limits=ArchiveLimits(max_entries=500_000)
        )
    """

    max_download_bytes: int = 2 * GiB
    max_total_size: int = 8 * GiB
    max_ratio: float = 200.0
    max_entries: int = 50_000
    max_name_bytes: int = 255
    max_path_bytes: int = 1024

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidInputError(f"{field.name} must be a positive number, got {value!r}")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)  # 3 = Unix


def normalised_name(name: str) -> str:
    """An entry name with Windows separators made ``/`` and no trailing ``/``."""
    return name.replace("\\", "/").rstrip("/")


def _unsafe_reason(name: str) -> str | None:
    """Why an entry name may not be extracted, or None when it is safe."""
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "contains a control character"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(normalised) > 1 and normalised[1] == ":"):
        return "is an absolute path"
    parts = PurePosixPath(normalised).parts
    if ".." in parts:
        return "has a '..' component"
    if not parts:
        return "has an empty name"
    return None


def _refuse(target: Path, info: zipfile.ZipInfo | None, reason: str) -> ArchiveError:
    entry = "" if info is None else f"entry {info.filename!r} "
    hint = (
        " (raise it with limits=ArchiveLimits(...) if you trust the archive)"
        if "max_" in reason
        else ""
    )
    return ArchiveError(
        f"refusing to extract the archive: {entry}{reason}; nothing was extracted{hint}",
        path=target,
        entry=None if info is None else info.filename,
    )


def _name_reason(info: zipfile.ZipInfo, root: Path, limits: ArchiveLimits) -> str | None:
    """Why this entry's name may not be extracted under ``root``, or None."""
    reason = _unsafe_reason(info.filename)
    if reason is None and _is_symlink(info):
        return "is a symbolic link"
    if reason is not None:
        return reason
    name = normalised_name(info.filename)
    if len(name.encode("utf-8", "surrogatepass")) > limits.max_path_bytes:
        return f"has a name over max_path_bytes ({limits.max_path_bytes} bytes)"
    if any(
        len(part.encode("utf-8", "surrogatepass")) > limits.max_name_bytes
        for part in name.split("/")
    ):
        return f"has a path component over max_name_bytes ({limits.max_name_bytes} bytes)"
    destination = (root / name).resolve()
    if destination != root and root not in destination.parents:
        return "would be written outside the target folder"
    return None


def _size_reason(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str | None:
    """Why this entry's sizes are refused (a zip bomb's ratio), or None."""
    if info.file_size < RATIO_FLOOR_BYTES:
        return None
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > limits.max_ratio:
        return f"has a compression ratio of {ratio:.0f}, over max_ratio ({limits.max_ratio:g})"
    return None


def _check_layout(entries: Sequence[zipfile.ZipInfo], target: Path) -> None:
    """Refuse duplicate entries and file/folder clashes, within the archive and against what
    ``target`` already holds (a file where a folder must go, or the reverse)."""
    files: dict[str, zipfile.ZipInfo] = {}
    folders: set[str] = set()
    for info in entries:
        name = normalised_name(info.filename)
        parents = {str(parent) for parent in PurePosixPath(name).parents if str(parent) != "."}
        folders |= parents
        if info.is_dir():
            folders.add(name)
        elif name in files:
            raise _refuse(target, info, "appears twice in the archive")
        else:
            files[name] = info
    for name, info in files.items():
        if name in folders:
            raise _refuse(target, info, "is both a file and a folder in the archive")
        if (target / name).is_dir():
            raise _refuse(target, info, "is a file where the target holds a folder")
    for folder in sorted(folders):
        existing = target / folder
        if existing.exists() and not existing.is_dir():
            raise _refuse(target, None, f"folder {folder!r} is a file in the target")


def check_archive_entries(
    archive: zipfile.ZipFile, target: Path, limits: ArchiveLimits | None = None
) -> list[zipfile.ZipInfo]:
    """Every entry of ``archive`` if all are safe to extract under ``target`` within
    ``limits``; else :class:`~nexus_async.ArchiveError` naming the first unsafe entry or the
    limit exceeded. Reads no file data.

    Example::

        with zipfile.ZipFile("export.zip") as archive:
            entries = check_archive_entries(archive, Path("out"))
    """
    limits = limits or ArchiveLimits()
    root = target.resolve()
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise _refuse(
            target, None, f"it has {len(entries)} entries, over max_entries ({limits.max_entries})"
        )
    total = 0
    for info in entries:
        reason = _name_reason(info, root, limits) or _size_reason(info, limits)
        if reason is not None:
            raise _refuse(target, info, reason)
        total += info.file_size
        if total > limits.max_total_size:
            raise _refuse(
                target,
                None,
                f"it extracts to over max_total_size ({limits.max_total_size} bytes)",
            )
    _check_layout(entries, target)
    return entries


def _extract_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, staging: Path) -> None:
    """Write one checked entry under ``staging`` at its normalised name."""
    destination = staging / normalised_name(info.filename)
    if info.is_dir():
        destination.mkdir(parents=True, exist_ok=True)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as source, open(destination, "xb") as sink:
        shutil.copyfileobj(source, sink, COPY_CHUNK)


def _move_into_place(staging: Path, target: Path, names: list[str]) -> None:
    for name in names:
        source = staging / name
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, destination)


def extract_zip_safely(
    archive_path: Path, target: Path, staging: Path, limits: ArchiveLimits | None = None
) -> list[str]:
    """Blocking: check every entry, extract all into ``staging``, then move the files into
    ``target``; return the file entries' (normalised) names, directories left out.

    Raises :class:`~nexus_async.ArchiveError` for a corrupt archive (bad ZIP, CRC mismatch),
    an unsafe entry, a limit exceeded, or a file the file system refuses while extracting;
    ``target`` is untouched then.
    """
    try:
        with zipfile.ZipFile(archive_path) as archive:
            entries = check_archive_entries(archive, target, limits)
            for info in entries:
                _extract_entry(archive, info, staging)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise ArchiveError(
            f"the downloaded export is not a valid ZIP archive ({exc}); nothing was extracted",
            path=target,
        ) from exc
    except OSError as exc:
        raise ArchiveError(
            f"the export could not be extracted ({exc}); nothing was extracted", path=target
        ) from exc
    names = [normalised_name(info.filename) for info in entries if not info.is_dir()]
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


async def _download_bounded(
    storage: StorageClient, url: str, archive_path: Path, target: Path, limits: ArchiveLimits
) -> None:
    """Stream the archive to ``archive_path``, refusing it past ``max_download_bytes``."""
    try:
        await storage.download(url, archive_path, max_bytes=limits.max_download_bytes)
    except OverflowError as exc:
        raise ArchiveError(
            f"the export download is over max_download_bytes ({limits.max_download_bytes} "
            "bytes); it was stopped and nothing was extracted",
            path=target,
        ) from exc


async def download_and_extract(
    url: str,
    path: str | os.PathLike[str] = ".",
    *,
    storage: StorageClient | None = None,
    limits: ArchiveLimits | None = None,
) -> LocalAnnotations:
    """Stream the ZIP at ``url`` and extract it safely into ``path`` (created if missing).

    Returns ``LocalAnnotations(download_path=str(path), file_names=[...])``. Raises
    :class:`~nexus_async.StorageError` when the download fails and
    :class:`~nexus_async.ArchiveError` when the archive is corrupt, unsafe or over one of
    ``limits`` (:class:`ArchiveLimits` defaults); in every failure nothing is left behind.

    Example::

        local = await download_and_extract(url, "exports/")
    """
    limits = limits or ArchiveLimits()
    target, staging, created = await anyio.to_thread.run_sync(_prepare_target, path)
    succeeded = False
    try:
        archive_path = staging / ARCHIVE_NAME
        if storage is None:
            async with StorageClient(max_connections=1) as own_storage:
                await _download_bounded(own_storage, url, archive_path, target, limits)
        else:
            await _download_bounded(storage, url, archive_path, target, limits)
        extract_dir = staging / "files"
        names = await anyio.to_thread.run_sync(
            extract_zip_safely, archive_path, target, extract_dir, limits
        )
        succeeded = True
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_clean_up, staging, None if succeeded else created)
    return LocalAnnotations(download_path=str(path), file_names=names)
