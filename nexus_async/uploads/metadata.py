"""Validation of what the user gives upload and import sessions: custom metadata, file
names and numeric options.

Example::

    metadata = validate_custom_metadata({"capturedAt": 1698402314, "latitude": 1.27})
    names = FilenameRegistry()
    names.add("a.png")
    names.add("a.png")  # DuplicateFilenameError
    session_names = NameHashSet()
    session_names.add_all(["a.png", "b.png"])
    session_names.add_all(["c.png", "a.png"])  # DuplicateFilenameError, nothing added
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeAlias

from nexus_async._constants import CUSTOM_METADATA_MAX_BYTES, MAX_FILENAME_BYTES
from nexus_async._exceptions import DuplicateFilenameError, InvalidInputError, InvalidMetadataError

__all__ = [
    "CustomMetadata",
    "FilenameRegistry",
    "MetadataValue",
    "NameHashSet",
    "validate_custom_metadata",
    "validate_filename",
    "validate_positive_ints",
]

MetadataValue: TypeAlias = str | int | float | bool
CustomMetadata: TypeAlias = dict[str, MetadataValue]


def _clean_value(key: str, value: object) -> MetadataValue:
    # Exact builtin types out, whatever subclass came in (numpy.float64 is a float subclass).
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidMetadataError(
                f"custom metadata {key!r}: {value!r} is not a finite number (JSON has no NaN/inf)"
            )
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        raise InvalidMetadataError(
            f"custom metadata {key!r}: nested {type(value).__name__} values are not supported; "
            "only a flat mapping of str, int, float or bool"
        )
    raise InvalidMetadataError(
        f"custom metadata {key!r}: values must be str, int, float or bool, "
        f"not {type(value).__name__}"
    )


def validate_custom_metadata(
    metadata: object, *, max_bytes: int | None = CUSTOM_METADATA_MAX_BYTES
) -> CustomMetadata:
    """A clean copy of ``metadata``: a flat mapping of string keys to str/int/float/bool.

    None means ``{}``. Nested values, NaN/infinity, non-string or empty keys, and a JSON
    serialisation (compact, UTF-8) longer than ``max_bytes`` (None: no cap) raise
    :class:`~nexus_async.InvalidMetadataError` naming the offending key.

    Example::

        validate_custom_metadata({"camera": "left", "exposure": 0.5, "flagged": False})
        validate_custom_metadata({"gps": {"lat": 1.0}})  # InvalidMetadataError: 'gps' nested
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidMetadataError(
            f"custom metadata must be a mapping of str to str/int/float/bool, "
            f"not {type(metadata).__name__}"
        )
    cleaned: CustomMetadata = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise InvalidMetadataError(f"custom metadata keys must be str, got {key!r}")
        if not key:
            raise InvalidMetadataError("custom metadata keys must not be empty")
        cleaned[key] = _clean_value(key, value)
    if max_bytes is not None:
        size = len(json.dumps(cleaned, ensure_ascii=False, separators=(",", ":")).encode())
        if size > max_bytes:
            raise InvalidMetadataError(
                f"custom metadata is {size} bytes serialised, over the limit of {max_bytes}"
            )
    return cleaned


def validate_filename(filename: str) -> str:
    """``filename`` if it is a usable asset/file name: non-empty, no directory part, no control
    character (NUL, newline, ...), at most 255 bytes in UTF-8.

    Raises :class:`~nexus_async.InvalidInputError` otherwise.

    Example::

        validate_filename("frame-001.jpg")  # "frame-001.jpg"
        validate_filename("dir/a.jpg")      # InvalidInputError
    """
    if not isinstance(filename, str) or not filename.strip():
        raise InvalidInputError(f"a file name must be a non-empty string, got {filename!r}")
    if "/" in filename or "\\" in filename or filename in (".", ".."):
        raise InvalidInputError(
            f"a file name must be a base name without directories, got {filename!r}"
        )
    if any(unicodedata.category(char) == "Cc" for char in filename):
        raise InvalidInputError(
            f"a file name must not contain control characters (NUL, newline...), got {filename!r}"
        )
    size = len(filename.encode("utf-8", "surrogatepass"))
    if size > MAX_FILENAME_BYTES:
        raise InvalidInputError(
            f"a file name is at most {MAX_FILENAME_BYTES} bytes in UTF-8 (the limit of common "
            f"file systems), got {size}: {filename[:40]!r}..."
        )
    return filename


def _duplicate(filename: str) -> DuplicateFilenameError:
    return DuplicateFilenameError(
        f"Cannot add multiple files with the same name, {filename}", filename=filename
    )


class FilenameRegistry:
    """The file names already added to one session (the server keys assets by name).

    Names are compared exactly. Memory is one set entry per name, fine for 100 000 files.

    Example::

        names = FilenameRegistry()
        names.add("a.png")
        "a.png" in names  # True
    """

    __slots__ = ("_names",)

    def __init__(self) -> None:
        self._names: set[str] = set()

    def add(self, filename: str) -> None:
        """Record ``filename``; :class:`~nexus_async.DuplicateFilenameError` if already there."""
        if filename in self._names:
            raise _duplicate(filename)
        self._names.add(filename)

    def discard(self, filename: str) -> None:
        """Forget ``filename`` (e.g. when adding its file failed after the name was taken)."""
        self._names.discard(filename)

    def __contains__(self, filename: object) -> bool:
        return filename in self._names

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)


class NameHashSet:
    """The file names of one asset upload session, in 10-20 bytes each whatever their length.

    A session of a million files cannot keep a million names (~100 bytes each in a set): it
    keeps a 64-bit BLAKE2b digest of each name in an open-addressing table (an ``array`` of
    unsigned 64-bit ints, at most 4/5 full, doubled when fuller). Two different names have the
    same digest with odds of about n**2 / 2**65 in a session of n names (1 in 10**9 at 200,000
    names, 1 in 4 * 10**7 at a million): such a name would be refused as a duplicate. Callers
    compare the names of the files they still hold exactly (see ``UploadSession``).

    Example::

        names = NameHashSet()
        names.add_all(["a.png", "b.png"])
        "a.png" in names, len(names)  # True, 2
    """

    __slots__ = ("_count", "_table")

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 2 or capacity & (capacity - 1):
            raise ValueError(f"capacity must be a power of two >= 2, got {capacity}")
        self._table = array("Q", bytes(8 * capacity))
        self._count = 0

    @staticmethod
    def _key(filename: str) -> int:
        digest = hashlib.blake2b(filename.encode("utf-8", "surrogatepass"), digest_size=8)
        return int.from_bytes(digest.digest(), "little") or 1  # 0 marks an empty slot

    def _holds(self, key: int) -> bool:
        table = self._table
        mask = len(table) - 1
        index = key & mask
        while (found := table[index]) != 0:
            if found == key:
                return True
            index = (index + 1) & mask  # linear probing
        return False

    def add_all(self, filenames: Iterable[str]) -> None:
        """Record every name, or none: :class:`~nexus_async.DuplicateFilenameError` names the
        first that is already recorded or given twice."""
        keys: dict[int, str] = {}
        for name in filenames:
            key = self._key(name)
            if key in keys or self._holds(key):
                raise _duplicate(name)
            keys[key] = name
        self._count += len(keys)
        table = self._table
        if self._count * 5 > len(table) * 4:  # over 4/5 full: double, and place every key again
            capacity = len(table) * 2
            while self._count * 5 > capacity * 4:
                capacity *= 2
            self._table = array("Q", bytes(8 * capacity))
            _place_all(self._table, (key for key in table if key))
        _place_all(self._table, keys)

    @staticmethod
    def duplicate(filename: str) -> DuplicateFilenameError:
        """The error refusing ``filename`` as a name the session already holds."""
        return _duplicate(filename)

    def __contains__(self, filename: object) -> bool:
        if not isinstance(filename, str):
            return False
        return self._holds(self._key(filename))

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Bytes the table holds (what the set costs beyond a few fixed objects)."""
        return len(self._table) * self._table.itemsize


def _place_all(table: array[int], keys: Iterable[int]) -> None:
    """Put each key (none of them in ``table`` yet) in its slot."""
    mask = len(table) - 1
    for key in keys:
        index = key & mask
        while table[index] != 0:
            index = (index + 1) & mask
        table[index] = key


def validate_positive_ints(**options: object) -> None:
    """Refuse any option that is not a positive integer (booleans included: ``True`` is a bug,
    not a 1), naming it. Example: ``validate_positive_ints(max_concurrency=32, batch_size=500)``.
    """
    for name, value in options.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
