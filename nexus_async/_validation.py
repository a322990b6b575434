"""Checks of public arguments that are not models: each raises
:class:`~nexus_async.InvalidInputError` naming the argument, before any request is sent.

Example::

    check_bool("skip_existing", skip_existing)        # "no" is refused, not taken as true
    check_seconds("timeout", timeout)                 # a positive, finite number or None
    path = check_path("file_path", file_path)         # str or os.PathLike, as a Path
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import httpx

from nexus_async._exceptions import InvalidInputError

__all__ = [
    "check_bool",
    "check_bytes",
    "check_path",
    "check_request_timeout",
    "check_retries",
    "check_seconds",
]


def check_bool(name: str, value: object) -> bool:
    """``value`` if it is a real ``bool`` (``"no"`` or ``0`` are bugs, not false)."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True or False, got {value!r}")
    return value


def check_seconds(name: str, value: object, *, allow_none: bool = True) -> float | None:
    """``value`` as a positive, finite number of seconds (``None`` when ``allow_none``)."""
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidInputError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def check_request_timeout(value: object) -> None:
    """A per-call ``timeout``: None, positive seconds or an ``httpx.Timeout``."""
    if not isinstance(value, httpx.Timeout):
        check_seconds("timeout", value)


def check_retries(value: object) -> int | None:
    """A per-call ``max_retries``: None or an integer >= 0."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise InvalidInputError(f"max_retries must be an integer >= 0, got {value!r}")
    return value


def check_path(name: str, value: object) -> Path:
    """``value`` (a ``str`` or ``os.PathLike`` of ``str``) as a :class:`~pathlib.Path`."""
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if isinstance(path, str) and path:
            return Path(path)
    raise InvalidInputError(f"{name} must be a non-empty str or os.PathLike path, got {value!r}")


def check_bytes(name: str, value: object) -> bytes:
    """``value`` (``bytes``, ``bytearray`` or ``memoryview``) as ``bytes``."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"{name} must be bytes, got {type(value).__name__}")
    return bytes(value)
