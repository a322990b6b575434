from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_async.uploads import checksums
from nexus_async.uploads.checksums import (
    base64_to_crc32c,
    bytes_crc32c,
    crc32c,
    crc32c_to_base64,
    crc32c_to_signed_int,
    file_crc32c,
    hash_file_range,
    read_and_hash,
    signed_int_to_crc32c,
    x_goog_hash,
)

# nexus-api.md §13.3: (input, digest, signed int, base64)
VECTORS = [
    (b"", 0x00000000, 0, "AAAAAA=="),
    (b"123456789", 0xE3069283, -486108541, "4waSgw=="),
    (b"assetPath", 0x114BE39A, 290186138, "EUvjmg=="),
    (b"filename,xmin\n", 0xDBE9817C, -605453956, "2+mBfA=="),
    (bytes(32), 0x8A9136AA, -1970194774, "ipE2qg=="),
]


@pytest.mark.parametrize(("data", "digest", "signed", "b64"), VECTORS)
def test_vectors(data: bytes, digest: int, signed: int, b64: str) -> None:
    assert crc32c(data) == digest
    assert crc32c(bytearray(data)) == digest
    assert crc32c_to_signed_int(digest) == signed
    assert signed_int_to_crc32c(signed) == digest
    assert crc32c_to_base64(digest) == b64
    assert base64_to_crc32c(b64) == digest
    assert x_goog_hash(digest) == f"crc32c={b64}"


def test_official_fixture_digest() -> None:
    assert crc32c_to_signed_int(0xE9133586) == -384617082
    assert crc32c_to_base64(0xE9133586) == "6RM1hg=="
    assert signed_int_to_crc32c(-384617082) == 0xE9133586


def test_boundaries_and_errors() -> None:
    assert crc32c_to_signed_int(0x7FFFFFFF) == 2**31 - 1
    assert crc32c_to_signed_int(0x80000000) == -(2**31)
    assert crc32c_to_signed_int(0xFFFFFFFF) == -1
    with pytest.raises(ValueError, match="unsigned 32-bit"):
        crc32c_to_signed_int(-1)
    with pytest.raises(ValueError, match="unsigned 32-bit"):
        crc32c_to_base64(2**32)
    with pytest.raises(ValueError, match="32-bit"):
        signed_int_to_crc32c(2**32)
    with pytest.raises(ValueError, match="4 bytes"):
        base64_to_crc32c("AAAA")
    with pytest.raises(ValueError, match="not base64"):
        base64_to_crc32c("!!!!")


def test_incremental() -> None:
    assert crc32c(b"56789", initial=crc32c(b"1234")) == 0xE3069283


async def test_file_helpers(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"123456789")
    assert await file_crc32c(path, chunk_size=2) == 0xE3069283
    assert await read_and_hash(path) == (b"123456789", 0xE3069283)
    assert hash_file_range(path, offset=0, length=4, chunk_size=3) == crc32c(b"1234")
    assert hash_file_range(path, offset=4) == crc32c(b"56789")
    with pytest.raises(ValueError, match="chunk_size"):
        hash_file_range(path, chunk_size=0)


async def test_bytes_crc32c_small_on_loop_large_in_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    hops: list[int] = []
    real = checksums.anyio.to_thread.run_sync

    async def spy(func, *args):  # type: ignore[no-untyped-def]
        hops.append(len(args[0]))
        return await real(func, *args)

    monkeypatch.setattr(checksums.anyio.to_thread, "run_sync", spy)
    assert await bytes_crc32c(b"123456789") == 0xE3069283
    assert hops == []
    big = bytes(2 * 1024 * 1024)
    assert await bytes_crc32c(big) == crc32c(big)
    assert hops == [len(big)]


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_encodings_round_trip(digest: int) -> None:
    signed = crc32c_to_signed_int(digest)
    assert -(2**31) <= signed < 2**31
    assert signed.to_bytes(4, "big", signed=True) == digest.to_bytes(4, "big")
    assert signed_int_to_crc32c(signed) == digest
    assert base64_to_crc32c(crc32c_to_base64(digest)) == digest


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=300), st.integers(1, 64))
def test_ranges_match_in_memory(data: bytes, offset: int, chunk_size: int) -> None:
    import tempfile

    offset = min(offset, len(data))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f"
        path.write_bytes(data)
        assert hash_file_range(path, chunk_size=chunk_size) == crc32c(data)
        assert hash_file_range(path, offset=offset, chunk_size=chunk_size) == crc32c(data[offset:])
        assert hash_file_range(path, length=offset, chunk_size=chunk_size) == crc32c(data[:offset])
