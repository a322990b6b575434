"""``project.batch.datasets``: create (with the NDJSON upload), list, get, delete and await
batch datasets (nexus-api.md §11). The transfer lives in
:mod:`nexus_async.uploads.dataset_upload`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

from typing_extensions import Unpack

from nexus_async._constants import DATASET_PAGE_LIMIT, DEFAULT_OPERATION_TIMEOUT
from nexus_async._pagination import Page, Pagination, iterate_pages, resolve_pagination
from nexus_async._transport import RequestOptions
from nexus_async.polling import PollSchedule, poll_until_done
from nexus_async.resources._base import ProjectResource, require_id
from nexus_async.types.common import DeleteResponse
from nexus_async.types.datasets import Dataset, DatasetStatusOverview
from nexus_async.types.params import PaginationParams
from nexus_async.uploads.dataset_upload import create_dataset, describe_ndjson

__all__ = ["Batch", "Datasets"]

_UPLOADED = (DatasetStatusOverview.UPLOADED.value,)
_FAILED = (DatasetStatusOverview.FAILED_PROCESSING.value, DatasetStatusOverview.FAILED_UPLOAD.value)


class Datasets(ProjectResource):
    """Batch datasets of a project. Example::

    dataset = await project.batch.datasets.create(name="my-dataset", dataset_path="items.ndjson")
    dataset = await project.batch.datasets.wait_until_done(dataset.id)
    page = await project.batch.datasets.list()
    """

    async def create(self, name: str, dataset_path: str | os.PathLike[str]) -> Dataset:
        """Create a dataset from a local NDJSON file and upload the file; return the dataset
        as created (status ``Waiting``; follow it with :meth:`wait_until_done`).

        The file is checked first: it must exist, be named ``*.ndjson`` and hold one JSON
        object per non-empty line (InvalidInputError names the first bad line). If the upload
        fails, the new dataset is deleted again and the error raised.

        Example::

            ds = await project.batch.datasets.create(name="my-dataset", dataset_path="items.ndjson")
            ds = await project.batch.datasets.wait_until_done(ds.id)
        """
        require_id(name, "name")
        file = await describe_ndjson(dataset_path)
        return await create_dataset(self._transport, self.project_id, name, file)

    async def list(
        self,
        pagination: Pagination | PaginationParams | None = None,
        *,
        page: str | None = None,
        limit: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[Dataset]:
        """One page of datasets (1000 by default, as the user docs say)."""
        query = resolve_pagination(
            pagination, page=page, limit=limit, default_limit=DATASET_PAGE_LIMIT
        )
        return await self._transport.request(
            "GET", self._path("batch", "datasets"), cast_to=Page[Dataset], query=query, **options
        )

    def iter(
        self, *, limit: int | None = None, **options: Unpack[RequestOptions]
    ) -> AsyncIterator[Dataset]:
        """Every dataset of the project, fetching pages lazily."""
        return iterate_pages(lambda cursor: self.list(page=cursor, limit=limit, **options))

    async def get(self, dataset_id: str, **options: Unpack[RequestOptions]) -> Dataset:
        """One dataset by id."""
        require_id(dataset_id, "dataset_id")
        return await self._transport.request(
            "GET", self._path("batch", "datasets", dataset_id), cast_to=Dataset, **options
        )

    async def delete(self, dataset_id: str, **options: Unpack[RequestOptions]) -> DeleteResponse:
        """Delete a dataset."""
        require_id(dataset_id, "dataset_id")
        return await self._transport.request(
            "DELETE",
            self._path("batch", "datasets", dataset_id),
            cast_to=DeleteResponse,
            **options,
        )

    async def wait_until_done(
        self,
        dataset_id: str,
        interval: float | None = None,
        timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        *,
        on_poll: Callable[[Dataset], None] | None = None,
    ) -> Dataset:
        """Wait until the dataset is ``Uploaded`` and return it.

        ``interval`` fixes the seconds between checks (default: back off from 0.25 s to 10 s).
        Raises OperationFailedError on ``FailedProcessing``/``FailedUpload`` and
        OperationTimeoutError after ``timeout`` seconds.
        """
        require_id(dataset_id, "dataset_id")
        schedule = None if interval is None else PollSchedule(interval, interval, 1.0)
        return await poll_until_done(
            lambda: self.get(dataset_id),
            state_of=lambda dataset: dataset.status.overview,
            succeeded=_UPLOADED,
            failed=_FAILED,
            resource_id=dataset_id,
            kind="Dataset",
            timeout=timeout,
            schedule=schedule,
            on_poll=on_poll,
            sleep=self._transport.clock.sleep,
        )


class Batch:
    """``project.batch``: batch inference resources; ``project.batch.datasets``."""

    def __init__(self, datasets: Datasets) -> None:
        self.datasets = datasets
