"""Validation of what the user gives upload and import sessions: custom metadata, file
names and numeric options.

Example::

    metadata = validate_custom_metadata({"capturedAt": 1698402314, "latitude": 1.27})
    names = FilenameRegistry()
    names.add("a.png")
    names.add("a.png")  # DuplicateFilenameError
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterator, Mapping
from typing import TypeAlias

from nexus_async._constants import CUSTOM_METADATA_MAX_BYTES, MAX_FILENAME_BYTES
from nexus_async._exceptions import DuplicateFilenameError, InvalidInputError, InvalidMetadataError

__all__ = [
    "CustomMetadata",
    "FilenameRegistry",
    "MetadataValue",
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
            raise DuplicateFilenameError(
                f"Cannot add multiple files with the same name, {filename}", filename=filename
            )
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


def validate_positive_ints(**options: object) -> None:
    """Refuse any option that is not a positive integer (booleans included: ``True`` is a bug,
    not a 1), naming it. Example: ``validate_positive_ints(max_concurrency=32, batch_size=500)``.
    """
    for name, value in options.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
