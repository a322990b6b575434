"""nexus_async: an asyncio-native SDK for the Datature Nexus API.

Example::

    from nexus_async import AsyncClient

    async with AsyncClient("your-secret-key") as client:
        workspace = await client.get_info()
"""

import inspect
import typing

from nexus_async import api_types as ApiTypes
from nexus_async._client import AsyncClient
from nexus_async._clock import Clock
from nexus_async._exceptions import (
    AnnotationImportError,
    APIConnectionError,
    APIError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    ArchiveError,
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
    MissingExtraError,
    NexusError,
    NotFoundError,
    OperationCancelledError,
    OperationError,
    OperationFailedError,
    OperationNotFinishedError,
    OperationTimeoutError,
    OutcomeUnknownError,
    PoolTimeoutError,
    RateLimitError,
    StorageError,
    UnprocessableEntityError,
    UnsupportedFileError,
    UploadError,
)
from nexus_async._pagination import Page, Pagination
from nexus_async._retry import RetryPolicy
from nexus_async._transport import RequestOptions
from nexus_async._version import __version__
from nexus_async.polling import PollSchedule
from nexus_async.resources.projects import Project
from nexus_async.types.annotations import Annotation
from nexus_async.types.assets import Asset, AssetGroup
from nexus_async.types.common import DeleteResponse
from nexus_async.types.datasets import Dataset
from nexus_async.types.operations import Operation
from nexus_async.types.projects import ProjectInfo
from nexus_async.types.workflows import Workflow
from nexus_async.types.workspace import Workspace
from nexus_async.uploads.asset_session import UploadProgress, UploadSession
from nexus_async.uploads.export_download import ArchiveLimits
from nexus_async.uploads.import_session import ImportSession
from nexus_async.uploads.uploader import AssetUploader, UploadedAsset

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "Annotation",
    "AnnotationImportError",
    "ApiTypes",
    "ArchiveError",
    "ArchiveLimits",
    "Asset",
    "AssetGroup",
    "AssetUploader",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Clock",
    "ConfigurationError",
    "ConflictError",
    "Dataset",
    "DeleteResponse",
    "DuplicateFilenameError",
    "FailedFile",
    "FileTooLargeError",
    "ForbiddenError",
    "ImportSession",
    "InternalServerError",
    "InvalidInputError",
    "InvalidMetadataError",
    "MissingExtraError",
    "NexusError",
    "NotFoundError",
    "Operation",
    "OperationCancelledError",
    "OperationError",
    "OperationFailedError",
    "OperationNotFinishedError",
    "OperationTimeoutError",
    "OutcomeUnknownError",
    "Page",
    "Pagination",
    "PollSchedule",
    "PoolTimeoutError",
    "Project",
    "ProjectInfo",
    "RateLimitError",
    "RequestOptions",
    "RetryPolicy",
    "StorageError",
    "UnprocessableEntityError",
    "UnsupportedFileError",
    "UploadError",
    "UploadProgress",
    "UploadSession",
    "UploadedAsset",
    "Workflow",
    "Workspace",
    "__version__",
]


def _public_modules() -> None:
    """Name the public module in reprs and tracebacks (``nexus_async.AsyncClient``, not
    ``nexus_async._client.AsyncClient``); pickling finds the classes there too.

    A class's own annotations are resolved first, in the module that defined them: afterwards
    ``typing.get_type_hints`` would look their names up here (``status_code: Literal[404]``).
    """
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, type) and obj.__module__.startswith("nexus_async._"):
            own = inspect.get_annotations(obj)
            if own:
                hints = typing.get_type_hints(obj)
                obj.__annotations__ = {key: hints[key] for key in own}
            obj.__module__ = __name__


_public_modules()
