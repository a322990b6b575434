"""Response models and request parameters, one family per module, all importable from here.

Each name means one thing. A model of what the server answers is named for it, with ``Info``
where the plain name is taken by what you hold or send: :class:`ProjectInfo` beside the handle
:class:`nexus_async.Project`, :class:`UploadSessionInfo` and :class:`ImportSessionInfo` beside the
sessions you add files to (:class:`nexus_async.UploadSession`, :class:`nexus_async.ImportSession`),
:class:`AssetMetadataInfo` beside the request :class:`AssetUpdate` (``ApiTypes.AssetMetadata``).

Example::

    from nexus_async.types import Asset, AssetUpdateParams, Operation
"""

from nexus_async.types.annotations import (
    Annotation,
    AnnotationFilter,
    AnnotationMetadata,
    BoundType,
    OntologyAttributeValue,
)
from nexus_async.types.assets import (
    Asset,
    AssetAnnotationsStatistic,
    AssetFilter,
    AssetGroup,
    AssetGroupStatistic,
    AssetMetadataInfo,
    AssetStatus,
    AssetUpdate,
    CustomMetadata,
)
from nexus_async.types.common import (
    CancelResponse,
    DeleteResponse,
    TagsCountItem,
)
from nexus_async.types.datasets import (
    Dataset,
    DatasetSource,
    DatasetStatus,
    DatasetStatusOverview,
    DatasetUploadUrl,
)
from nexus_async.types.exports import (
    AnnotationExportFormat,
    AnnotationExportMetadata,
    AnnotationExportOptions,
    ExportDownload,
    ExportedAnnotations,
    LocalAnnotations,
)
from nexus_async.types.imports import (
    ImportSessionAnnotations,
    ImportSessionAnnotationsWithStatus,
    ImportSessionFiles,
    ImportSessionFilesWithStatus,
    ImportSessionInfo,
    ImportSessionLog,
    ImportSessionLogItem,
    ImportSessionStatus,
    InsertImportSessionFile,
    InsertImportSessionFiles,
)
from nexus_async.types.operations import (
    Operation,
    OperationProgress,
    OperationProgressWithStatus,
    OperationStatus,
    OperationStatusOverview,
)
from nexus_async.types.params import (
    AnnotationExportOptionsParams,
    AnnotationExportParams,
    AnnotationFilterParams,
    AnnotationParams,
    AssetFilterParams,
    AssetUpdateParams,
    FlowParams,
    PaginationParams,
    ProjectParams,
)
from nexus_async.types.projects import (
    ProjectInfo,
    ProjectMetadata,
    ProjectStatistic,
)
from nexus_async.types.uploads import (
    MultipartAbortResponse,
    MultipartCompleteResponse,
    MultipartPartStatus,
    MultipartUploadSession,
    MultipartUploadSignedUrl,
    SignedUpload,
    UploadSessionAsset,
    UploadSessionAssetMetadata,
    UploadSessionInfo,
)
from nexus_async.types.workflows import (
    FlowMetadata,
    Workflow,
)
from nexus_async.types.workspace import (
    Workspace,
)

__all__ = [
    "Annotation",
    "AnnotationExportFormat",
    "AnnotationExportMetadata",
    "AnnotationExportOptions",
    "AnnotationExportOptionsParams",
    "AnnotationExportParams",
    "AnnotationFilter",
    "AnnotationFilterParams",
    "AnnotationMetadata",
    "AnnotationParams",
    "Asset",
    "AssetAnnotationsStatistic",
    "AssetFilter",
    "AssetFilterParams",
    "AssetGroup",
    "AssetGroupStatistic",
    "AssetMetadataInfo",
    "AssetStatus",
    "AssetUpdate",
    "AssetUpdateParams",
    "BoundType",
    "CancelResponse",
    "CustomMetadata",
    "Dataset",
    "DatasetSource",
    "DatasetStatus",
    "DatasetStatusOverview",
    "DatasetUploadUrl",
    "DeleteResponse",
    "ExportDownload",
    "ExportedAnnotations",
    "FlowMetadata",
    "FlowParams",
    "ImportSessionAnnotations",
    "ImportSessionAnnotationsWithStatus",
    "ImportSessionFiles",
    "ImportSessionFilesWithStatus",
    "ImportSessionInfo",
    "ImportSessionLog",
    "ImportSessionLogItem",
    "ImportSessionStatus",
    "InsertImportSessionFile",
    "InsertImportSessionFiles",
    "LocalAnnotations",
    "MultipartAbortResponse",
    "MultipartCompleteResponse",
    "MultipartPartStatus",
    "MultipartUploadSession",
    "MultipartUploadSignedUrl",
    "OntologyAttributeValue",
    "Operation",
    "OperationProgress",
    "OperationProgressWithStatus",
    "OperationStatus",
    "OperationStatusOverview",
    "PaginationParams",
    "ProjectInfo",
    "ProjectMetadata",
    "ProjectParams",
    "ProjectStatistic",
    "SignedUpload",
    "TagsCountItem",
    "UploadSessionAsset",
    "UploadSessionAssetMetadata",
    "UploadSessionInfo",
    "Workflow",
    "Workspace",
]
