from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from nexus_async import InvalidInputError
from nexus_async.uploads.discovery import (
    discover_annotation_files,
    discover_asset_files,
    discover_files,
    walk_asset_files,
)


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    touch(
        tmp_path,
        "b.png",
        "A.JPG",
        "sub/deeper/c.Nii.Gz",
        "sub/clip.MP4",
        "sub/notes.txt",
        "sub/labels.csv",
        "sub/bundle.zip",
        "sub/ct.dcm",
        ".hidden.png",
        "._a.png",
        ".git/x.png",
        "__MACOSX/y.png",
        "__MACOSX/z.zip",
        "rgbd/._r.zip",
        "rgbd/r.zip",
    )
    return tmp_path


async def test_asset_scan(tree: Path) -> None:
    found = await discover_asset_files(tree)
    assert [p.relative_to(tree).as_posix() for p in found] == [
        "A.JPG",
        "b.png",
        "sub/clip.MP4",
        "sub/ct.dcm",  # converted by the upload session
        "sub/deeper/c.Nii.Gz",
    ]


async def test_rgbd_scan_only_zips(tree: Path) -> None:
    found = await discover_asset_files(tree, rgbd=True)
    assert [p.relative_to(tree).as_posix() for p in found] == ["rgbd/r.zip", "sub/bundle.zip"]


async def test_annotation_scan(tree: Path) -> None:
    found = await discover_annotation_files(tree)
    assert [p.relative_to(tree).as_posix() for p in found] == [
        "sub/deeper/c.Nii.Gz",
        "sub/labels.csv",
        "sub/notes.txt",
    ]


async def test_custom_extensions(tree: Path) -> None:
    found = await discover_files(tree / "sub", extensions={".txt"})
    assert [p.name for p in found] == ["notes.txt"]


async def test_a_file_is_itself_whatever_its_name(tree: Path) -> None:
    assert await discover_asset_files(tree / "sub" / "notes.txt") == [tree / "sub" / "notes.txt"]
    assert await discover_annotation_files(tree / ".hidden.png") == [tree / ".hidden.png"]


async def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="No such file or directory") as info:
        await discover_asset_files(tmp_path / "nope")
    assert "nope" in str(info.value)


async def test_empty_folder_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="No asset files in folder") as info:
        await discover_asset_files(tmp_path / "empty")
    assert "empty" in str(info.value)


async def test_a_folder_of_dicom_files_is_scanned(tmp_path: Path) -> None:
    touch(tmp_path, "series/1.dcm", "series/2.DCM", "series/3.dicom", "series/image.bmp.bak")
    found = await discover_asset_files(tmp_path / "series")
    assert [p.name for p in found] == ["1.dcm", "2.DCM", "3.dicom"]
    with pytest.raises(InvalidInputError, match="No annotation files"):
        await discover_annotation_files(tmp_path / "series")


async def test_symlinked_folders_not_followed(tmp_path: Path) -> None:
    touch(tmp_path, "real/a.png")
    (tmp_path / "real" / "loop").symlink_to(tmp_path / "real", target_is_directory=True)
    found = await discover_asset_files(tmp_path / "real")
    assert [p.name for p in found] == ["a.png"]


async def test_unreadable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path, "a.png")

    def refuse(path: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("nexus_async.uploads.discovery.os.scandir", refuse)
    with pytest.raises(InvalidInputError, match=r"Cannot scan .*Permission denied"):
        await discover_asset_files(tmp_path)


async def collect(walk: AsyncGenerator[list[Path], None]) -> list[list[Path]]:
    return [chunk async for chunk in walk]


async def test_the_walk_streams_the_discovery_order_in_hops(tree: Path) -> None:
    chunks = await collect(walk_asset_files(tree, per_hop=2))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert [p for chunk in chunks for p in chunk] == await discover_asset_files(tree)


async def test_folders_sort_with_their_siblings_as_relative_paths_do(tmp_path: Path) -> None:
    touch(tmp_path, "a.png", "a/x.png", "a b.png", "a-b/y.png", "b.png", "a/c/z.png")
    found = [p.relative_to(tmp_path).as_posix() for p in await discover_asset_files(tmp_path)]
    assert found == sorted(found, key=lambda path: path.split("/"))
    assert found == ["a/c/z.png", "a/x.png", "a b.png", "a-b/y.png", "a.png", "b.png"]


async def test_a_large_folder_is_sorted_in_runs(tmp_path: Path) -> None:
    names = [f"{i:03d}.png" for i in range(50)]
    touch(tmp_path, *names)
    found = [
        p.name for chunk in await collect(walk_asset_files(tmp_path, run_size=20)) for p in chunk
    ]
    assert sorted(found) == names  # every file, once
    runs = [found[i : i + 20] for i in range(0, 50, 20)]
    assert all(run == sorted(run) for run in runs)  # each run of 20 names in order


async def test_an_empty_walk_raises_at_its_end(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="No asset files in folder"):
        await collect(walk_asset_files(tmp_path / "empty"))
    with pytest.raises(InvalidInputError, match="No such file"):
        await collect(walk_asset_files(tmp_path / "nope"))


async def test_a_walk_closed_early_closes_its_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path, *(f"d{i}/{j}.png" for i in range(3) for j in range(5)))
    opened: list[object] = []
    real = os.scandir

    def tracked(path: object) -> object:
        entries = real(path)  # type: ignore[call-overload]
        opened.append(entries)
        return entries

    monkeypatch.setattr("nexus_async.uploads.discovery.os.scandir", tracked)
    async with contextlib.aclosing(walk_asset_files(tmp_path, per_hop=3)) as walk:
        async for _ in walk:
            break
    assert len(opened) == 2  # the root and d0, both still open when the walk was left
    for entries in opened:
        with pytest.raises(StopIteration):
            next(entries)  # type: ignore[call-overload]  # a closed scandir yields nothing
