"""Local building blocks of uploads, from which the upload and import sessions are built.

One job per module:

* :mod:`.checksums` — CRC-32C digests (hashed off the event loop) and their wire encodings;
* :mod:`.mime` — asset kinds, the extension → MIME map, content sniffers, disguised files;
* :mod:`.discovery` — which files a path means (folder scans in a worker thread);
* :mod:`.metadata` — custom metadata validation and the duplicate-filename registry;
* :mod:`.files` — :class:`LocalFile`, a file described (stat, type, digest) in one thread hop;
* :mod:`.storage` — :class:`StorageClient`, every transfer to and from signed URLs;
* :mod:`.transfers` — many described files to their signed URLs at once, one error naming all
  that failed;
* :mod:`.asset_session` — the asset upload session;
* :mod:`.import_session` — the annotation import session;
* :mod:`.export_download` — downloading an export and extracting it safely (zip slip refused);
* :mod:`.dataset_upload` — NDJSON validation and batch dataset creation.

Example::

    from nexus_async.uploads import StorageClient, describe_asset_path, discover_asset_files

    async with StorageClient() as storage:
        for path in await discover_asset_files("photos/"):
            file = await describe_asset_path(path)
            ...  # create the session, then storage.send_local_file(method, url, headers, file)
"""

from nexus_async.uploads.checksums import (
    bytes_crc32c,
    crc32c,
    crc32c_to_base64,
    crc32c_to_signed_int,
    file_crc32c,
    read_and_hash,
    x_goog_hash,
)
from nexus_async.uploads.discovery import (
    discover_annotation_files,
    discover_asset_files,
    discover_files,
)
from nexus_async.uploads.files import (
    LocalFile,
    describe_asset_bytes,
    describe_asset_path,
    describe_file,
)
from nexus_async.uploads.metadata import (
    FilenameRegistry,
    validate_custom_metadata,
    validate_filename,
)
from nexus_async.uploads.mime import AssetKind, AssetType, detect_asset_mime, sniff_mime
from nexus_async.uploads.storage import StorageClient, redact_url

__all__ = [
    "AssetKind",
    "AssetType",
    "FilenameRegistry",
    "LocalFile",
    "StorageClient",
    "bytes_crc32c",
    "crc32c",
    "crc32c_to_base64",
    "crc32c_to_signed_int",
    "describe_asset_bytes",
    "describe_asset_path",
    "describe_file",
    "detect_asset_mime",
    "discover_annotation_files",
    "discover_asset_files",
    "discover_files",
    "file_crc32c",
    "read_and_hash",
    "redact_url",
    "sniff_mime",
    "validate_custom_metadata",
    "validate_filename",
    "x_goog_hash",
]
