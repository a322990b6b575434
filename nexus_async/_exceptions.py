"""The exceptions nexus_async raises. Every one derives from :class:`NexusError`.

::

    NexusError
    ├── ConfigurationError            no secret key (nor mTLS) or a bad endpoint; no request made
    ├── MissingExtraError             a feature's optional packages are not installed (ImportError)
    ├── InvalidInputError             bad arguments or files, caught locally before any request
    │   ├── UnsupportedFileError      extension / content not an accepted asset or annotation file
    │   ├── DuplicateFilenameError    two files with the same name in one session
    │   ├── FileTooLargeError         over the size limit of its kind
    │   └── InvalidMetadataError      custom metadata not a flat map of str/int/float/bool
    ├── APIError                      talking to the Nexus API failed
    │   ├── APIConnectionError        no HTTP response (DNS, refused, reset, TLS)
    │   │   ├── APITimeoutError       the request timed out
    │   │   └── OutcomeUnknownError   an answer was lost and whether the server acted is unknown
    │   │       └── PoolTimeoutError  no free connection in a pool in time (names the pool)
    │   ├── APIStatusError            the API answered with a 4xx or 5xx
    │   │   ├── BadRequestError           400
    │   │   ├── AuthenticationError       401
    │   │   ├── ForbiddenError            403 (wrong key, another workspace's project)
    │   │   ├── NotFoundError             404
    │   │   ├── ConflictError             409
    │   │   ├── UnprocessableEntityError  422
    │   │   ├── RateLimitError            429 (``retry_after`` in seconds when the server said)
    │   │   └── InternalServerError       5xx
    │   └── APIResponseError          a 2xx whose body is empty, not JSON, or not the expected shape
    ├── StorageError                  a signed-URL transfer failed (status from the storage host)
    ├── OperationError                a long-running operation did not finish well
    │   ├── OperationFailedError      it ended Errored (or a dataset ended Failed*)
    │   ├── OperationCancelledError   it ended Cancelled
    │   ├── OperationNotFinishedError it has not ended yet (e.g. downloading a Running export)
    │   └── OperationTimeoutError     it did not end within the timeout (also a TimeoutError)
    ├── UploadError                   one or more files of an upload session failed; lists them all
    ├── AnnotationImportError         an annotation import session ended Errored; carries its logs
    └── ArchiveError                  a downloaded archive is corrupt or unsafe; nothing extracted

Example::

    try:
        await project.assets.get("missing.png")
    except nexus_async.NotFoundError as exc:
        print(exc.status_code, exc.message)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import httpx

from nexus_async._constants import REQUEST_ID_HEADERS, SECRET_KEY_HEADER

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AnnotationImportError",
    "ArchiveError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DuplicateFilenameError",
    "FailedFile",
    "FileTooLargeError",
    "ForbiddenError",
    "InternalServerError",
    "InvalidInputError",
    "InvalidMetadataError",
    "MissingExtraError",
    "NexusError",
    "NotFoundError",
    "OperationCancelledError",
    "OperationError",
    "OperationFailedError",
    "OperationNotFinishedError",
    "OperationTimeoutError",
    "OutcomeUnknownError",
    "PoolTimeoutError",
    "RateLimitError",
    "StorageError",
    "UnprocessableEntityError",
    "UnsupportedFileError",
    "UploadError",
]

REDACTED = "[REDACTED]"
"""What a secret header value reads as in a request kept by an exception."""


def redact_request(request: httpx.Request | None) -> httpx.Request | None:
    """A copy of ``request`` whose ``Secret-Key`` header (any spelling) reads ``[REDACTED]``.

    Exceptions keep this copy, never the request that was sent: an error travels far (logs,
    error trackers, ``repr`` of locals) and the key must not travel with it. A request without
    the header is returned as it is; the body is kept so a failing call can still be inspected.
    """
    if request is None or SECRET_KEY_HEADER.lower() not in (k.lower() for k in request.headers):
        return request
    headers = [
        (name, REDACTED if name.lower() == SECRET_KEY_HEADER.lower() else value)
        for name, value in request.headers.multi_items()
    ]
    content = request.content if hasattr(request, "_content") else None
    timeout = {"timeout": request.extensions["timeout"]} if "timeout" in request.extensions else {}
    return httpx.Request(
        request.method, request.url, headers=headers, content=content, extensions=timeout
    )


class NexusError(Exception):
    """Root of every error raised by nexus_async."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(NexusError, ValueError):
    """The client cannot be built as asked, e.g. no secret key and no mTLS certificate."""


class InvalidInputError(NexusError, ValueError):
    """An argument or a local file is invalid; raised before any request is sent."""


class UnsupportedFileError(InvalidInputError):
    """A file is not of a type the session accepts (by extension and by content)."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class DuplicateFilenameError(InvalidInputError):
    """Two files of one session share a file name; the server keys assets by name."""

    def __init__(self, message: str, *, filename: str) -> None:
        super().__init__(message)
        self.filename = filename


class FileTooLargeError(InvalidInputError):
    """A file is larger than the limit for its kind."""

    def __init__(self, message: str, *, path: str | Path | None = None, limit: int) -> None:
        super().__init__(message)
        self.path = path
        self.limit = limit


class MissingExtraError(NexusError, ImportError):
    """An optional feature needs packages that are not installed; the message says how to
    install them (e.g. ``pip install "nexus-async[medical]"`` for DICOM and NIfTI conversions).

    Example::

        try:
            await session.add_path("scan.dcm")
        except MissingExtraError as error:
            print(error.extra)  # "medical"
    """

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class InvalidMetadataError(InvalidInputError):
    """Custom metadata is not a flat mapping of str to str, int, float or bool."""


class APIError(NexusError):
    """A request to the Nexus API failed. ``request`` is the last request sent."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = redact_request(request)


class APIConnectionError(APIError):
    """No HTTP response was received (connection refused or reset, DNS, TLS).

    ``may_have_reached_server`` is False only when the request provably never left the client
    (the connection could not be opened); only then is a non-idempotent request retried.
    """

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        may_have_reached_server: bool = True,
    ) -> None:
        super().__init__(message, request=request)
        self.may_have_reached_server = may_have_reached_server


class OutcomeUnknownError(APIConnectionError):
    """The answer to a request that changes something was lost, and asking the server again did
    not settle whether it acted. Nothing was rolled back (that could undo what the server did).
    ``how_to_check`` says how to find out before trying again.
    """

    def __init__(self, message: str, *, how_to_check: str) -> None:
        super().__init__(f"{message}. {how_to_check}", may_have_reached_server=True)
        self.how_to_check = how_to_check


class APITimeoutError(APIConnectionError, TimeoutError):
    """The request timed out (connect, read, write or pool wait)."""


class PoolTimeoutError(APITimeoutError):
    """No connection of a pool became free within its pool timeout; nothing was sent.

    ``pool`` names the pool (``"api"`` or ``"storage"``) and ``timeout`` is the wait in seconds.
    Every connection was busy the whole time: too many concurrent calls for the pool, or calls
    that hold their connection for long.
    """

    def __init__(
        self, message: str, *, pool: str, timeout: float | None, request: httpx.Request | None
    ) -> None:
        super().__init__(message, request=request, may_have_reached_server=False)
        self.pool = pool
        self.timeout = timeout


class APIStatusError(APIError):
    """The API answered with an error status.

    Attributes:
        status_code: the HTTP status.
        message: the ``message`` field of the error body, or the body text.
        code: the ``code`` field of the error body (e.g. ``"ResourceNotFoundError"``), if any.
        body: the parsed JSON body, or the raw text when it was not JSON.
        retry_after: seconds the server asked to wait (``Retry-After``), if it said.
        request_id: the server's id of the request (an ``X-Request-Id`` or ``Request-Id``
            response header), to quote when asking for support; None when it sent none.
        response: the :class:`httpx.Response`.

    Each status has its own subclass whose ``status_code`` is a ``Literal`` (``NotFoundError``
    has ``Literal[404]``), so a type checker knows the status in an ``except`` block.
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, request=response.request)
        if self.request is not None:
            response.request = self.request
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.code = code
        self.retry_after = retry_after
        self.request_id = _request_id(response)

    def __str__(self) -> str:
        request = self.request
        where = f" ({request.method} {request.url.path})" if request is not None else ""
        return f"{self.status_code} {self.message}{where}{self._hint()}"

    def __repr__(self) -> str:
        request_id = "" if self.request_id is None else f", request_id={self.request_id!r}"
        return (
            f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r}, "
            f"message={self.message!r}{request_id})"
        )

    def _hint(self) -> str:
        if self.status_code in (401, 403):
            return (
                ". Check the secret key: it must be the key of the workspace that owns this "
                "project ($NEXUS_SECRET_KEY or AsyncClient(secret_key=...))"
            )
        return ""


class BadRequestError(APIStatusError):
    """400: the API refused the request as malformed or invalid."""

    status_code: Literal[400]


class AuthenticationError(APIStatusError):
    """401: the credentials were not accepted."""

    status_code: Literal[401]


class ForbiddenError(APIStatusError):
    """403: the key has no access to the resource (wrong key, or another workspace)."""

    status_code: Literal[403]


class NotFoundError(APIStatusError):
    """404: the resource does not exist in this project."""

    status_code: Literal[404]


class ConflictError(APIStatusError):
    """409: the resource is not in a state that allows the request."""

    status_code: Literal[409]


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but semantically invalid."""

    status_code: Literal[422]


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's wait in seconds, if it gave one.

    Also raised without a request being sent when an upload with ``on_rate_limit="raise"``
    would have to wait for the client's own upload-session limit: ``code`` is then
    ``"ClientRateLimit"`` and ``retry_after`` the wait it refused.
    """

    status_code: Literal[429]


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


def _request_id(response: httpx.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value: str | None = response.headers.get(name)
        if value:
            return value
    return None


class APIResponseError(APIError):
    """A successful status whose body is empty, not JSON, or not the shape of the expected model."""

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message, request=None if response is None else response.request)
        if response is not None and self.request is not None:
            response.request = self.request
        self.response = response
        self.status_code = None if response is None else response.status_code
        self.request_id = None if response is None else _request_id(response)


class StorageError(NexusError):
    """A transfer to or from a signed storage URL failed.

    ``status_code`` is None when no response came back (connection failure); the URL is kept
    without its query string, which carries the signature.
    """

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class OperationError(NexusError):
    """A long-running server operation did not finish successfully.

    ``operation`` is the last state seen (an Operation, ImportSession or Dataset model).
    """

    def __init__(self, message: str, *, operation_id: str, operation: Any = None) -> None:
        super().__init__(message)
        self.operation_id = operation_id
        self.operation = operation


class OperationFailedError(OperationError):
    """The operation ended in a failure state (``Errored``, ``FailedUpload``...)."""


class OperationCancelledError(OperationError):
    """The operation ended ``Cancelled``."""


class OperationNotFinishedError(OperationError):
    """The operation is still ``Queued`` or ``Running`` where a finished one is needed, e.g.
    ``download_exported_file`` on an export that is still being built: wait, then retry."""


class OperationTimeoutError(OperationError, TimeoutError):
    """The operation was still running when the timeout ran out."""


class FailedFile:
    """One file that could not be uploaded, and why."""

    __slots__ = ("cause", "filename")

    def __init__(self, filename: str, cause: BaseException) -> None:
        self.filename = filename
        self.cause = cause

    def __repr__(self) -> str:
        return f"FailedFile({self.filename!r}, {self.cause!r})"


class UploadError(NexusError):
    """An upload session failed. ``failed`` lists every file that did not make it, with its cause.

    Server sessions of the failed upload have been cancelled before this is raised.
    """

    def __init__(self, message: str, *, failed: Sequence[FailedFile] = ()) -> None:
        lines = [message, *(f"  {f.filename}: {f.cause}" for f in failed)]
        super().__init__("\n".join(lines))
        self.failed = list(failed)


class AnnotationImportError(NexusError):
    """An annotation import session ended ``Errored``. ``logs`` holds the session's log lines."""

    def __init__(self, message: str, *, session_id: str, logs: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.logs = list(logs)


class ArchiveError(NexusError):
    """A downloaded archive cannot be extracted safely: it is corrupt, or an entry has an
    absolute path, a ``..`` component or is a symbolic link (zip slip). Nothing was extracted.

    ``path`` is the archive's destination directory; ``entry`` the offending entry, if any.
    """

    def __init__(self, message: str, *, path: str | Path, entry: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.entry = entry
