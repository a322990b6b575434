"""Errors raised by the emulator's state layer, rendered as ``{"code","message"}`` bodies."""

from __future__ import annotations

import math


class ApiError(Exception):
    """An API error with its HTTP status, ``code`` and ``message`` (nexus-api.md §2.10)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        """Return the JSON error body."""
        return {"code": self.code, "message": self.message}


def bad_request(message: str) -> ApiError:
    """400 ``BadRequestError``."""
    return ApiError(400, "BadRequestError", message)


def forbidden() -> ApiError:
    """403 ``ForbiddenError`` with the real API's message."""
    return ApiError(403, "ForbiddenError", "No Access Rights to Requested Resources")


def not_found(resource: str) -> ApiError:
    """404 ``ResourceNotFoundError`` for ``resource`` (e.g. ``Project``)."""
    return ApiError(404, "ResourceNotFoundError", f"Requested {resource} Resource Not Found")


def conflict(message: str) -> ApiError:
    """409 ``ConflictError``."""
    return ApiError(409, "ConflictError", message)


def too_many_requests(retry_after_ms: int) -> ApiError:
    """429 ``TooManyRequestsError`` with a ``Retry-After`` header in whole seconds."""
    seconds = max(1, math.ceil(retry_after_ms / 1000))
    return ApiError(429, "TooManyRequestsError", "Too Many Requests", {"Retry-After": str(seconds)})


class StorageError(Exception):
    """A signed-URL storage error, rendered as a GCS-like XML body."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.status = status
        self.code = code
        self.message = message or code

    def xml(self) -> str:
        """Return the XML error document."""
        return (
            "<?xml version='1.0' encoding='UTF-8'?>"
            f"<Error><Code>{self.code}</Code><Message>{_xml_escape(self.message)}</Message></Error>"
        )


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
