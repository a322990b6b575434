from __future__ import annotations

from pathlib import Path

import pytest

from nexus_async import (
    FileTooLargeError,
    InvalidInputError,
    InvalidMetadataError,
    UnsupportedFileError,
)
from nexus_async.uploads import files as files_module
from nexus_async.uploads import mime
from nexus_async.uploads.checksums import crc32c
from nexus_async.uploads.files import (
    LocalFile,
    describe_asset_bytes,
    describe_asset_path,
    describe_asset_paths,
    describe_file,
)
from nexus_async.uploads.mime import AssetKind

from .conftest import JPEG, MP4, PNG, TEXT, nifti1


async def test_small_file_one_hop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.PNG"
    path.write_bytes(PNG)
    hops = 0
    real = files_module.anyio.to_thread.run_sync

    async def count(*args: object) -> object:
        nonlocal hops
        hops += 1
        return await real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(files_module.anyio.to_thread, "run_sync", count)
    file = await describe_asset_path(path, custom_metadata={"k": 1})
    assert hops == 1
    assert file == LocalFile(
        filename="a.PNG",
        size=len(PNG),
        crc32c=crc32c(PNG),
        mime="image/png",
        kind=AssetKind.IMAGE,
        path=path,
        custom_metadata={"k": 1},
    )
    assert file.data is None
    kept = await describe_asset_path(path, keep_bytes=True)
    assert kept.data == PNG


async def test_large_file_streamed_hash(tmp_path: Path) -> None:
    body = MP4 + bytes(range(256)) * 100
    path = tmp_path / "clip.mp4"
    path.write_bytes(body)
    file = await describe_asset_path(path, small_file_size=100, chunk_size=7, keep_bytes=True)
    assert (file.size, file.crc32c, file.mime) == (len(body), crc32c(body), "video/mp4")
    assert file.data is None  # large files are never kept


def test_wire_encodings() -> None:
    small = LocalFile(filename="a", size=9, crc32c=0xE3069283)
    assert small.session_crc32c == -486108541
    assert small.crc32c_base64 == "4waSgw=="
    assert small.x_goog_hash == "crc32c=4waSgw=="
    exactly_1gib = LocalFile(filename="b", size=2**30, crc32c=0xE3069283)
    assert not exactly_1gib.is_multipart
    assert exactly_1gib.session_crc32c == -486108541  # checked, unlike the official SDK
    multipart = LocalFile(filename="c", size=2**30 + 1, crc32c=0xE3069283)
    assert multipart.is_multipart
    assert multipart.session_crc32c == 0
    assert multipart.x_goog_hash == "crc32c=4waSgw=="


async def test_refusals(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedFileError, match="empty"):
        await describe_asset_path(empty)
    notes = tmp_path / "notes.png"
    notes.write_bytes(TEXT)
    with pytest.raises(UnsupportedFileError, match=r"notes\.png"):
        await describe_asset_path(notes)
    with pytest.raises(InvalidInputError, match="No such file"):
        await describe_asset_path(tmp_path / "missing.png")
    with pytest.raises(InvalidInputError, match="Cannot read"):
        await describe_asset_path(tmp_path)
    with pytest.raises(InvalidMetadataError):
        await describe_asset_path(notes, custom_metadata={"x": [1]})


async def test_size_limit_by_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(mime.KIND_MAX_SIZE, AssetKind.MEDICAL_3D, 400)  # type: ignore[index]
    path = tmp_path / "v.nii"
    path.write_bytes(nifti1() + bytes(100))
    with pytest.raises(FileTooLargeError, match="over the 400-byte limit") as info:
        await describe_asset_path(path)
    assert info.value.limit == 400
    with pytest.raises(FileTooLargeError):
        await describe_asset_path(path, small_file_size=10)
    with pytest.raises(FileTooLargeError):
        await describe_asset_bytes(nifti1() + bytes(100), "v.nii")


async def test_bytes(tmp_path: Path) -> None:
    file = await describe_asset_bytes(PNG, "frame.png", custom_metadata={"cam": "left"})
    assert (file.size, file.mime, file.data, file.path) == (len(PNG), "image/png", PNG, None)
    assert file.crc32c == crc32c(PNG)
    gif = await describe_asset_bytes(b"GIF89a" + bytes(20), "f.gif")  # official add_bytes refuses
    assert gif.mime == "image/gif"
    with pytest.raises(UnsupportedFileError, match="empty"):
        await describe_asset_bytes(b"", "x.png")
    with pytest.raises(InvalidInputError, match="base name"):
        await describe_asset_bytes(PNG, "dir/x.png")
    with pytest.raises(UnsupportedFileError):
        await describe_asset_bytes(TEXT, "x.jpg")


async def test_plain_file(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(b"filename,xmin\n")
    file = await describe_file(path)
    assert (file.filename, file.size, file.crc32c_base64) == ("labels.csv", 14, "2+mBfA==")
    assert (file.mime, file.kind, file.data) == (None, None, None)
    big = await describe_file(path, filename="renamed.csv", small_file_size=4, chunk_size=3)
    assert (big.filename, big.crc32c_base64) == ("renamed.csv", "2+mBfA==")
    kept = await describe_file(path, keep_bytes=True)
    assert kept.data == b"filename,xmin\n"
    with pytest.raises(InvalidInputError, match="No such file"):
        await describe_file(tmp_path / "nope.csv")


async def test_several_files_are_described_in_one_hop_with_errors_in_place(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    (tmp_path / "notes.png").write_bytes(TEXT)
    (tmp_path / "b.jpg").write_bytes(JPEG)
    metadata = {"site": "A"}
    paths = [
        tmp_path / "a.png",
        tmp_path / "notes.png",
        tmp_path / "missing.png",
        tmp_path / "b.jpg",
    ]
    a, disguised, missing, b = await describe_asset_paths(paths, custom_metadata=metadata)
    assert isinstance(a, LocalFile)
    assert isinstance(b, LocalFile)
    assert (a.filename, a.mime, a.size, a.crc32c) == ("a.png", "image/png", len(PNG), crc32c(PNG))
    assert (b.mime, b.data) == ("image/jpeg", None)  # bytes are not kept
    assert a.custom_metadata is b.custom_metadata is metadata  # one dict for the whole call
    assert isinstance(disguised, UnsupportedFileError)
    assert isinstance(missing, InvalidInputError)
    assert "No such file" in str(missing)
