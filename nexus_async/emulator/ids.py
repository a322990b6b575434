"""Identifier formats (nexus-api.md §2.12) and pagination cursors (§2.11)."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid

from nexus_async.emulator.errors import bad_request


def hex_id(prefix: str, length: int) -> str:
    """``prefix`` followed by ``length`` random hex digits."""
    return prefix + secrets.token_hex(length // 2)


def uuid_id(prefix: str) -> str:
    """``prefix`` followed by a random UUIDv4."""
    return f"{prefix}{uuid.uuid4()}"


def workspace_id() -> str:
    """A new ``ws_`` id."""
    return hex_id("ws_", 32)


def user_id() -> str:
    """A new ``user_`` id."""
    return hex_id("user_", 24)


def project_id() -> str:
    """A new ``proj_`` id."""
    return hex_id("proj_", 32)


def workflow_id() -> str:
    """A new ``flow_`` id."""
    return hex_id("flow_", 24)


_CURSOR = re.compile(r"^([fb])([0-9a-f]{24})$")


def encode_cursor(direction: str, position: int) -> str:
    """Encode a cursor as unpadded base64 of ``f<24 hex>`` / ``b<24 hex>``."""
    raw = f"{direction}{position:024x}".encode("ascii")
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    """Decode a cursor into (direction, position); garbled cursors raise a 400."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        raw = base64.b64decode(padded.encode("ascii"), validate=True).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise bad_request("Invalid page cursor") from None
    match = _CURSOR.match(raw)
    if match is None:
        raise bad_request("Invalid page cursor")
    return match.group(1), int(match.group(2), 16)
