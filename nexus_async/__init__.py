"""nexus_async: an asyncio-native SDK for the Datature Nexus API.

Example::

    from nexus_async import AsyncClient

    async with AsyncClient("your-secret-key") as client:
        workspace = await client.get_info()
"""

from nexus_async._exceptions import (
    AnnotationImportError,
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DuplicateFilenameError,
    FailedFile,
    FileTooLargeError,
    ForbiddenError,
    InternalServerError,
    InvalidInputError,
    InvalidMetadataError,
    NexusError,
    NotFoundError,
    OperationCancelledError,
    OperationError,
    OperationFailedError,
    OperationTimeoutError,
    RateLimitError,
    StorageError,
    UnprocessableEntityError,
    UnsupportedFileError,
    UploadError,
)
from nexus_async._version import __version__

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AnnotationImportError",
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
    "NexusError",
    "NotFoundError",
    "OperationCancelledError",
    "OperationError",
    "OperationFailedError",
    "OperationTimeoutError",
    "RateLimitError",
    "StorageError",
    "UnprocessableEntityError",
    "UnsupportedFileError",
    "UploadError",
    "__version__",
]
