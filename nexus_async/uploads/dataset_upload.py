"""Creating a batch dataset from a local NDJSON file (nexus-api.md §11.1, §11.2).

:func:`describe_ndjson` checks the file before anything is sent — it exists, is a regular file
named ``*.ndjson``, and every non-empty line is a JSON object (the error names the line) —
while computing its size and CRC-32C in the same pass, in a worker thread. :func:`create_dataset`
then POSTs the dataset (the exact body of §11.1), streams the file to the returned signed URL
with exactly the returned headers (the storage answer is checked, unlike the official SDK,
weakness 11), and returns the creation response. If the transfer fails, the just-created
dataset is deleted again (shielded) and the error propagates: no orphaned ``Waiting`` dataset.

Example::

    file = await describe_ndjson("items.ndjson")
    dataset = await create_dataset(transport, "proj_1", "my-dataset", file)
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import anyio
import anyio.lowlevel
import anyio.to_thread
import google_crc32c

from nexus_async._concurrency import rollback_on_failure, shielded_call
from nexus_async._exceptions import InvalidInputError, NexusError
from nexus_async._transport import Transport, api_path
from nexus_async._validation import check_path
from nexus_async.types.datasets import Dataset
from nexus_async.uploads.files import LocalFile
from nexus_async.uploads.storage import StorageClient, storage_for

__all__ = ["SOURCE_KIND", "create_dataset", "describe_ndjson"]

logger = logging.getLogger("nexus_async")

SOURCE_KIND = "UploadedNewlineDelimitedJsonFile"
NDJSON_EXTENSION = ".ndjson"


def _line_problem(line: bytes) -> str | None:
    try:
        item = json.loads(line)
    except UnicodeDecodeError:
        return "is not UTF-8 text"
    except ValueError as exc:
        return f"is not valid JSON ({exc.msg})" if hasattr(exc, "msg") else "is not valid JSON"
    if not isinstance(item, dict):
        return f"is a JSON {type(item).__name__}, not an object"
    return None


def _describe_ndjson_sync(given: str | os.PathLike[str]) -> LocalFile:
    path = Path(given).expanduser()
    if path.suffix.lower() != NDJSON_EXTENSION:
        raise InvalidInputError(f"'{path}' is not an NDJSON file: the name must end in .ndjson")
    if not path.exists():
        raise InvalidInputError(f"No such file: '{path}'")
    if not path.is_file():
        raise InvalidInputError(f"'{path}' is not a regular file")
    digest = size = items = 0
    try:
        with open(path, "rb") as file:
            for number, line in enumerate(file, start=1):
                digest = int(google_crc32c.extend(digest, line))
                size += len(line)
                if not line.strip():
                    continue
                problem = _line_problem(line)
                if problem is not None:
                    raise InvalidInputError(f"'{path}' line {number} {problem}")
                items += 1
    except OSError as exc:
        raise InvalidInputError(f"Cannot read '{path}': {exc.strerror or exc}") from exc
    if items == 0:
        raise InvalidInputError(f"'{path}' holds no items (every line is empty)")
    return LocalFile(filename=path.name, size=size, crc32c=digest, path=path)


async def describe_ndjson(path: str | os.PathLike[str]) -> LocalFile:
    """Validate an NDJSON dataset file and describe it (size, CRC-32C), in one worker-thread
    pass, one line in memory at a time. Raises :class:`~nexus_async.InvalidInputError`
    naming the first bad line.

    Example::

        file = await describe_ndjson("items.ndjson")
        file.size, file.crc32c_base64
    """
    return await anyio.to_thread.run_sync(_describe_ndjson_sync, check_path("dataset_path", path))


def dataset_body(name: str, file: LocalFile) -> dict[str, object]:
    """The creation request, keys in the order of §11.1."""
    return {
        "name": name,
        "spec": {
            "source": {"kind": SOURCE_KIND, "sizeBytes": file.size, "crc32c": file.crc32c_base64}
        },
    }


async def create_dataset(
    transport: Transport,
    project_id: str,
    name: str,
    file: LocalFile,
    *,
    storage: StorageClient | None = None,
) -> Dataset:
    """Create the dataset, send its file to the issued signed URL, return the creation answer.

    Example::

        dataset = await create_dataset(transport, project_id, "my-dataset",
                                       await describe_ndjson("items.ndjson"))
    """
    path = api_path("projects", project_id, "batch", "datasets")
    created: list[Dataset] = []

    async def delete_created() -> None:
        for dataset in created:
            try:
                await transport.request(
                    "DELETE",
                    api_path("projects", project_id, "batch", "datasets", dataset.id),
                    cleanup=True,
                )
            except NexusError as error:
                logger.warning(
                    "Could not delete dataset %s after a failed upload: %s", dataset.id, error
                )

    async with rollback_on_failure(delete_created, describe="delete the dataset"):
        # The answer is learned even if the caller is cancelled meanwhile, then deleted.
        dataset = await shielded_call(
            lambda: transport.request("POST", path, cast_to=Dataset, body=dataset_body(name, file)),
            on_result=created.append,
        )
        upload = dataset.status.source.upload_url
        if storage is None:
            async with storage_for(transport, max_connections=1) as own_storage:
                await own_storage.send_local_file(upload.method, upload.url, upload.headers, file)
        else:
            await storage.send_local_file(upload.method, upload.url, upload.headers, file)
    return dataset
