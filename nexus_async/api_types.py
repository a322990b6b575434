"""Request parameter types under the official SDK's names, for ``ApiTypes.X(...)`` code.

Example::

    from nexus_async import ApiTypes

    await project.workflows.update(flow_id, ApiTypes.FlowMetadata(title="My awesome workflow"))
"""

from nexus_async._pagination import Pagination
from nexus_async.types.annotations import AnnotationFilter, AnnotationMetadata, BoundType
from nexus_async.types.assets import AssetFilter, AssetStatus
from nexus_async.types.assets import AssetUpdate as AssetMetadata
from nexus_async.types.exports import (
    AnnotationExportFormat,
    AnnotationExportMetadata,
    AnnotationExportOptions,
)
from nexus_async.types.operations import OperationStatusOverview
from nexus_async.types.projects import ProjectMetadata
from nexus_async.types.workflows import FlowMetadata

__all__ = [
    "AnnotationExportFormat",
    "AnnotationExportMetadata",
    "AnnotationExportOptions",
    "AnnotationFilter",
    "AnnotationMetadata",
    "AssetFilter",
    "AssetMetadata",
    "AssetStatus",
    "BoundType",
    "FlowMetadata",
    "OperationStatusOverview",
    "Pagination",
    "ProjectMetadata",
]
