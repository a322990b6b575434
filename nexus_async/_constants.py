"""Every default of the SDK in one place.

The numbers come from the wire protocol (``nexus-api.md``) and from the measurements that
shaped the design (``measurements.md``); the comment beside each says which.
"""

from __future__ import annotations

from typing import Final

# --- Endpoint and authentication -------------------------------------------------------------
DEFAULT_BASE_URL: Final = "https://api.datature.io"
BASE_URL_ENV: Final = "DATATURE_API_BASE_URL"
SECRET_KEY_ENV: Final = "NEXUS_SECRET_KEY"
SECRET_KEY_HEADER: Final = "Secret-Key"
REQUEST_ID_HEADERS: Final = ("x-request-id", "request-id")
"""Response headers read (in order) for ``APIStatusError.request_id``; the API documents none,
so these are the common spellings, and ``request_id`` is None when the server sends neither."""
PROJECT_ID_PREFIX: Final = "proj_"

# --- Timeouts (seconds) ----------------------------------------------------------------------
CONNECT_TIMEOUT: Final = 10.0
# JSON API calls answer quickly; a generous read timeout still covers slow servers.
READ_TIMEOUT: Final = 60.0
# Storage transfers stream large bodies: reads wait for the storage host to accept a whole part.
STORAGE_READ_TIMEOUT: Final = 600.0
# Finite, so that a lost connection slot surfaces as PoolTimeoutError instead of a hang. API
# calls answer in milliseconds: 30 s is a queue of thousands of calls on 8 connections. Storage
# transfers take a slot only after the StorageClient's limiter admitted them, so on a healthy
# pool they never wait for one at all; a long upload does not hold the wait open.
POOL_TIMEOUT: Final = 30.0

# --- Cancellation (a caller's timeout is honoured within ~1 s, issue 9) ------------------------
# A cancelled caller still waits this long for the answer of a request that creates a server
# resource (upload/import session, multipart upload, dataset), so it can be rolled back.
CREATE_GRACE: Final = 0.5
# Rolling back what a failed or cancelled upload created (cancel a session, abort a multipart
# upload, mark an import failed, delete a dataset) gets at most this long, shielded.
CLEANUP_TIMEOUT: Final = 1.0

# --- Retries (design.md §6) ------------------------------------------------------------------
DEFAULT_MAX_RETRIES: Final = 3
RETRY_INITIAL_DELAY: Final = 0.5
RETRY_MAX_DELAY: Final = 8.0
RETRY_AFTER_CAP: Final = 60.0
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
# Statuses that prove a POST/PATCH was refused before it did anything, when sent with Retry-After.
SAFE_TO_RETRY_WITH_RETRY_AFTER: Final = frozenset({429, 503})
# Storage transfers resend the same bytes (idempotent) and a bulk upload makes thousands, so
# they get a larger budget: at 10 % failed attempts, 7 tries leave 1e-7 odds per file.
STORAGE_MAX_RETRIES: Final = 6
# Session creation is retried only when the server refused it with Retry-After (or the
# connection never opened), which is always safe; rate limiting makes that common, so it
# gets a larger budget.
SESSION_CREATE_MAX_RETRIES: Final = 8
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

# --- HTTP connection pools (measurements.md: one httpx pool degrades past ~8 connections) ----
API_MAX_CONNECTIONS: Final = 8
# Rollbacks get connections of their own, so they never wait behind a busy API pool.
CLEANUP_CONNECTIONS: Final = 4
STORAGE_CONNECTIONS_PER_CLIENT: Final = 8
# Bulk asset uploads spread their transfers over pools of 4: httpcore checks every pooled
# connection on each request and release, and with thousands of small PUTs smaller pools cost
# ~25 % less client CPU (benchmarks P2, 2,000 x 64 KiB at 32 in flight: 369 -> 563 files/s).
ASSET_UPLOAD_CONNECTIONS_PER_CLIENT: Final = 4

# --- Exports (nexus-api.md §9.1: every option is required on the wire) ------------------------
EXPORT_SPLIT_RATIO: Final = 0.0  # no validation split unless asked: one file, every annotation
EXPORT_SEED: Final = 1337  # the official CLI's shuffle seed

# --- Pagination (nexus-api.md §2.11, §16 ruling 7) ---------------------------------------------
DEFAULT_PAGE_LIMIT: Final = 100
DATASET_PAGE_LIMIT: Final = 1000
MAX_PAGE_LIMIT: Final = 1000

# --- Polling (design.md §6) ------------------------------------------------------------------
POLL_FIRST_DELAY: Final = 0.25
POLL_MAX_DELAY: Final = 10.0
POLL_MULTIPLIER: Final = 2.0
# Upload ingestion is waited on interactively and one operation covers up to 5,000 files, so
# polling it at most 0.5 s apart costs a few GETs next to thousands of transfers, and bounds the
# lag between the server finishing and the session returning (benchmarks P4: median lag 2.8 s
# -> ~0.25 s; a 30 s operation takes ~62 GETs instead of 9). Other waits keep the 10 s cap.
UPLOAD_POLL_FIRST_DELAY: Final = 0.1
UPLOAD_POLL_MAX_DELAY: Final = 0.5
# The official SDK waits up to 10 h. Ingesting a 5,000-file session or exporting a large project
# takes minutes, so one hour never cuts real work short and still ends a stuck wait the same
# working day; pass timeout=None to wait without limit.
DEFAULT_OPERATION_TIMEOUT: Final = 3_600.0

# --- Uploads (nexus-api.md §6, §13, §14; measurements.md) ------------------------------------
CHUNK_SIZE: Final = 1024 * 1024  # 1 MiB: lowest client CPU per GB measured with httpx
SMALL_FILE_SIZE: Final = 4 * 1024 * 1024  # up to this, one thread hop reads and hashes the file
# Storage transfers of a known length up to this read their bytes on the event loop: from the
# page cache that costs less than the thread hop it saves (0.03-0.35 ms of client CPU per 64 KiB
# PUT on aiohttp, benchmarks/STORAGE_ENGINES.md); larger ones are read in a worker thread.
READ_ON_LOOP_MAX_SIZE: Final = 64 * 1024
# A file name is at most 255 bytes in UTF-8: the limit of ext4, APFS, NTFS (255 UTF-16 units)
# and of object-store keys' last segment in practice; a longer name cannot be downloaded back.
MAX_FILENAME_BYTES: Final = 255
MULTIPART_THRESHOLD: Final = 1024 * 1024 * 1024  # files strictly larger go multipart
MAX_ASSETS_PER_SESSION: Final = 5000
SESSION_CREATIONS_PER_WINDOW: Final = 15
SESSION_CREATION_WINDOW: Final = 300.0
# 32 transfers in flight: on signed URLs with 50 ms of latency this lifts throughput ~1.4x over
# 16, and CPU-bound uploads on loopback are no slower (benchmarks). Client CPU per transfer is
# the same at 32, 64 and 128 on both storage engines, and no wall-time gain beyond 32 could be
# measured on the shared machine (benchmarks/STORAGE_ENGINES.md), so it stays.
DEFAULT_UPLOAD_CONCURRENCY: Final = 32
DEFAULT_PART_CONCURRENCY: Final = 4
MAX_IMPORT_FILES_PER_SESSION: Final = 1000
# --- The asset upload pipeline: discover -> describe -> announce -> send, overlapping ----------
# Discovery reads a folder in worker-thread hops of this many files, and sorts a folder's
# entries in runs of at most DISCOVERY_SORT_RUN names (~0.7 MB): a flat folder of a million
# files is never held whole.
DISCOVERY_FILES_PER_HOP: Final = 512
DISCOVERY_SORT_RUN: Final = 10_000
# Files are described (open, stat, sniff, CRC-32C) DESCRIBE_CHUNK_FILES per worker-thread hop,
# DESCRIBE_CONCURRENCY hops at once. One hop per 4 KiB file cost ~0.2 ms of CPU per file, one
# hop per 16 files ~0.05 ms (5,000 files described in 0.25 s instead of 1.1-1.7 s).
DESCRIBE_CHUNK_FILES: Final = 16
DESCRIBE_CONCURRENCY: Final = 8
# Server sessions (batches) announced or transferring at once: one transfers while the next is
# announced (waiting for the upload-session limit if need be), so the limit's window stays
# full. With the batch being filled and one waiting for its turn, at most four batches of
# described files are in memory, whatever the folder holds.
BATCH_CONCURRENCY: Final = 2
# The first batch of a folder larger than one batch closes early, at this many files or bytes,
# so that sending starts within a fraction of a second: describing and announcing 5,000 small
# files took ~0.9 s of CPU (0.55 s to describe, 0.35 s to build the request and read the 5,000
# signed URLs) before the first PUT; 500 files take a tenth of that. It costs one session of
# the creation limit's 15 per window, once per add_path of such a folder.
FIRST_BATCH_FILES: Final = 500
FIRST_BATCH_BYTES: Final = 64 * 1024 * 1024
# The service uploader (create_uploader) coalesces calls into shared sessions. Its sessions are
# spaced window/limit apart plus 5 % (21 s): exactly window/limit leaves no room for the time a
# creation takes, and the limiter would then wait a few ms. A file waits at most that long by
# default before its batch is sent; a batch closes
# at 500 files or 256 MiB (a few seconds of transfers), and 2,000 files may wait or travel at
# once before callers feel backpressure. Files arriving within 50 ms of a quiet uploader's
# first one share its session.
UPLOADER_PACE_MARGIN: Final = 1.05
UPLOADER_MAX_DELAY: Final = (
    SESSION_CREATION_WINDOW / SESSION_CREATIONS_PER_WINDOW * UPLOADER_PACE_MARGIN
)
UPLOADER_MAX_FILES: Final = 500
UPLOADER_MAX_BYTES: Final = 256 * 1024 * 1024
UPLOADER_MAX_PENDING: Final = 2000
UPLOADER_LINGER: Final = 0.05
MAX_IMPORT_FILES_PER_REQUEST: Final = 1000
# Size limits per asset kind (nexus-api.md §14.1; the server answers 400 above them).
IMAGE_MAX_SIZE: Final = 256 * 1024 * 1024
VIDEO_MAX_SIZE: Final = 512 * 1024 * 1024 * 1024
MEDICAL_3D_MAX_SIZE: Final = 1024 * 1024 * 1024
RGBD_MAX_SIZE: Final = 512 * 1024 * 1024
# Bytes read from the start of a file for content sniffing: one page costs what 600 bytes cost,
# and leaves room to gunzip a NIfTI header from a .nii.gz.
SNIFF_HEAD_SIZE: Final = 4096
# In-memory data up to this is hashed on the event loop (~50 us, the cost of a thread hop).
HASH_ON_LOOP_MAX_SIZE: Final = 1024 * 1024
# Serialised custom metadata cap (nexus-api.md §14.1, emulator default; the server quota varies).
CUSTOM_METADATA_MAX_BYTES: Final = 4096
# Error bodies from storage hosts are short XML; keep at most this much in an exception message.
STORAGE_ERROR_BODY_CHARS: Final = 300

# --- Medical conversions (the [medical] extra; nexus-api.md §14.1 "Medical files") -----------
MEDICAL_EXTRA_INSTALL: Final = 'pip install "nexus-async[medical]"'
# What the extra installs (import names); a medical path without one of them is refused.
MEDICAL_EXTRA_MODULES: Final = ("numpy", "pydicom", "nibabel", "av")
# Conversions of one upload session run one at a time in a worker thread, so at most one
# volume (a NIfTI volume, or a multi-frame DICOM's frames) is in memory at a time.
MEDICAL_CONVERSIONS_AT_ONCE: Final = 1
# The official converters wrote 30 frames per second; a slice is one frame.
MEDICAL_VIDEO_FPS: Final = 30
# H.264 (in PyAV's wheels) plays in every browser; MPEG-4 part 2 only if a build lacks libx264.
MEDICAL_VIDEO_CODECS: Final = ("libx264", "mpeg4")
# x264 settings: "veryfast" encodes a 300-slice 512x512 axis in ~0.8 s on 2 cores; CRF 18 is
# visually lossless for 8-bit grey. (MPEG-4 part 2 gets its codec's defaults.)
MEDICAL_X264_OPTIONS: Final = (("preset", "veryfast"), ("crf", "18"))
# A frame side is capped (aspect kept): pixdim in microns instead of mm would ask for videos
# 1,000 times too large.
MEDICAL_MAX_FRAME_SIDE: Final = 4096
