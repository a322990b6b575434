"""Batch datasets: NDJSON upload, validation and the status lifecycle (§15.5)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_async.emulator import ids
from nexus_async.emulator.blobs import SignedTarget, parse_b64_crc32c
from nexus_async.emulator.errors import StorageError, bad_request
from nexus_async.emulator.state.base import Page, owned_by, require_int, require_object, require_str
from nexus_async.emulator.state.imports import ImportMixin
from nexus_async.emulator.state.models import Dataset, Project

SOURCE_KIND = "UploadedNewlineDelimitedJsonFile"


@dataclass(frozen=True)
class DatasetView:
    """A dataset's state at one instant."""

    dataset: Dataset
    overview: str
    message: str
    update_time: int


def validate_ndjson(data: bytes) -> tuple[int, str | None]:
    """Count items of an NDJSON dataset; returns (count, error message or None)."""
    count = 0
    for line_number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            return count, f"Line {line_number}: invalid JSON"
        if not isinstance(item, dict) or item.get("kind") != "Image":
            return count, f"Line {line_number}: kind must be Image"
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return count, f"Line {line_number}: url must be an http(s) URL"
        count += 1
    if count == 0:
        return 0, "The dataset contains no items"
    return count, None


class DatasetMixin(ImportMixin):
    """Batch datasets."""

    def create_dataset(self, project: Project, body: dict[str, Any]) -> Dataset:
        """Validate the request and issue the signed NDJSON upload URL."""
        name = require_str(body, "name")
        spec = require_object(body.get("spec"), "spec")
        source = require_object(spec.get("source"), "spec.source")
        if source.get("kind") != SOURCE_KIND:
            raise bad_request(f"spec.source.kind must be {SOURCE_KIND}")
        size = require_int(source, "sizeBytes")
        crc = require_str(source, "crc32c")
        if size <= 0 or parse_b64_crc32c(crc) is None:
            raise bad_request("sizeBytes must be positive and crc32c a base64 CRC-32C digest")
        now = self.now()
        dataset_id = ids.uuid_id("dataset_")
        headers = {
            "content-length": str(size),
            "x-goog-hash": f"crc32c={crc}",
            "x-goog-meta-datature-dataset-link": dataset_id,
            "x-goog-if-generation-match": "0",
            "content-type": "application/x-ndjson",
        }
        dataset = Dataset(
            id=dataset_id,
            seq=self.next_seq(),
            project_id=project.id,
            name=name,
            size_bytes=size,
            crc32c=crc,
            created_at=now,
            expiry_time=now + self.config.dataset_expiry_ms,
            url_expires_at=now + self.config.dataset_url_ttl_ms,
            upload_path=f"/_storage/datasets/{dataset_id}.ndjson",
            upload_headers=headers,
            update_date=now,
        )
        self.store.datasets[dataset.id] = dataset
        self.store.created.datasets += 1
        return dataset

    def dataset_target(self, dataset: Dataset) -> SignedTarget:
        """The signed upload request of a dataset."""
        return SignedTarget(
            "PUT", dataset.upload_path, dataset.upload_headers, dataset.url_expires_at
        )

    def get_dataset(self, project: Project, dataset_id: str) -> Dataset:
        """One dataset of the project, else 404."""
        return owned_by(project, self.store.datasets, dataset_id, "Dataset")

    def list_datasets(self, project: Project, query: dict[str, Any]) -> Page:
        """Paginate the project's datasets (expired ones included)."""
        datasets = [d for d in self.store.datasets.values() if d.project_id == project.id]
        return self.paginate(datasets, lambda d: d.seq, query.get("page"), query["limit"])

    def delete_dataset(self, project: Project, dataset_id: str) -> str:
        """Delete a dataset."""
        self.get_dataset(project, dataset_id)
        del self.store.datasets[dataset_id]
        return dataset_id

    def dataset_slot(self, name: str) -> Dataset:
        """The dataset a storage PUT writes to."""
        dataset = self.store.datasets.get(name.removesuffix(".ndjson"))
        if dataset is None:
            raise StorageError(404, "NoSuchKey")
        return dataset

    def receive_dataset(self, dataset: Dataset, blob: Path) -> None:
        """Validate the uploaded NDJSON."""
        now = self.now()
        count, error = validate_ndjson(blob.read_bytes())
        dataset.uploaded_at = now
        dataset.item_count = count if error is None else 0
        if error is not None:
            dataset.failure, dataset.failure_message = "FailedProcessing", error
        dataset.update_date = now

    def dataset_upload_failed(self, dataset: Dataset, reason: str) -> None:
        """A bad checksum or size: the dataset fails its upload."""
        if dataset.uploaded_at is None:
            dataset.failure, dataset.failure_message = "FailedUpload", reason
            dataset.update_date = self.now()

    def view_dataset(self, dataset: Dataset) -> DatasetView:
        """Evaluate the dataset's state now."""
        now = self.now()
        timing = self.config.timing
        if dataset.uploaded_at is None:
            if dataset.failure == "FailedUpload":
                return DatasetView(
                    dataset, "FailedUpload", dataset.failure_message, dataset.update_date
                )
            if now >= dataset.url_expires_at:
                return DatasetView(
                    dataset, "FailedUpload", "Upload URL expired", dataset.url_expires_at
                )
            return DatasetView(dataset, "Waiting", "Waiting for upload", dataset.created_at)
        start = dataset.uploaded_at
        if now < start + timing.queue_ms:
            return DatasetView(dataset, "Processing", "Processing Dataset", start)
        done = start + timing.queue_ms + timing.processing_ms
        if dataset.failure == "FailedProcessing":
            return DatasetView(
                dataset, "FailedProcessing", dataset.failure_message, start + timing.queue_ms
            )
        if now < done:
            return DatasetView(dataset, "Uploading", "Uploading Dataset", start + timing.queue_ms)
        return DatasetView(dataset, "Uploaded", "Uploaded Dataset", done)
