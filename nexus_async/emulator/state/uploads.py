"""Asset upload sessions, multipart uploads and upload operations."""

from __future__ import annotations

import base64
import binascii
import json
import math
from bisect import insort
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nexus_async.emulator import ids
from nexus_async.emulator.blobs import Extent, SignedTarget, UrlSigner, crc32c_b64
from nexus_async.emulator.errors import (
    StorageError,
    bad_request,
    conflict,
    too_many_requests,
)
from nexus_async.emulator.state.annotations import AnnotationMixin
from nexus_async.emulator.state.assets import MAX_SIZE_BY_KIND, mime_kind
from nexus_async.emulator.state.base import (
    owned_by,
    require_filename,
    require_int,
    require_object,
    require_str,
)
from nexus_async.emulator.state.lifecycle import finished_at
from nexus_async.emulator.state.models import (
    MultipartPart,
    MultipartUpload,
    Operation,
    Project,
    UploadItem,
    UploadSession,
)

UPLOAD_KIND = "nexus.assets.upload"


class UploadMixin(AnnotationMixin):
    """Upload sessions (single-shot and multipart) and their ingestion."""

    # -- session creation ------------------------------------------------------------

    def _check_rate_limit(self, project: Project) -> None:
        limit = self.config.rate_limit
        if not limit.enabled:
            return
        now = self.now()
        window_start = now - limit.window_ms
        project.session_creations = [t for t in project.session_creations if t > window_start]
        if len(project.session_creations) >= limit.max_sessions:
            oldest = project.session_creations[-limit.max_sessions]
            raise too_many_requests(oldest + limit.window_ms - now)

    def _parse_upload_item(self, index: int, raw: object) -> UploadItem:
        item = require_object(raw, "assets[]")
        filename = require_filename(item)
        size = require_int(item, "size")
        crc = require_int(item, "crc32c")
        mime = require_str(item, "mime")
        kind = mime_kind(mime)
        if kind is None:
            raise bad_request(f"Asset MIME type {mime} is not supported")
        if size <= 0:
            raise bad_request(f"Unsupported asset file {filename}: size must be positive")
        if size > MAX_SIZE_BY_KIND[kind]:
            raise bad_request(f"{filename} exceeds the {kind} size limit")
        if not -(2**31) <= crc < 2**31:
            raise bad_request("crc32c must be a signed 32-bit integer")
        frames = item.get("frames")
        if frames is not None and (not isinstance(frames, int) or isinstance(frames, bool)):
            raise bad_request("frames must be an integer")
        metadata = item.get("customMetadata")
        custom = self.validate_custom_metadata(metadata) if metadata is not None else {}
        return UploadItem(index, filename, size, crc, mime, frames, custom)

    def create_upload_session(self, project: Project, body: dict[str, Any]) -> UploadSession:
        """Validate a session request, apply the rate limit and open the session."""
        self._check_rate_limit(project)
        groups_raw = body.get("groups", ["main"])
        if not isinstance(groups_raw, list) or not all(
            isinstance(g, str) and g.strip() for g in groups_raw
        ):
            raise bad_request("groups must be a list of non-empty strings")
        assets = body.get("assets")
        if not isinstance(assets, list) or not assets:
            raise bad_request("assets must be a non-empty list")
        if len(assets) > self.config.max_items_per_session:
            raise bad_request(
                f"at most {self.config.max_items_per_session} assets per upload session"
            )
        items = [self._parse_upload_item(i, raw) for i, raw in enumerate(assets)]
        seen: set[str] = set()
        for item in items:
            if item.filename in seen:
                raise bad_request(f"Cannot add multiple files with the same name, {item.filename}")
            seen.add(item.filename)
        now = self.now()
        session_id = ids.uuid_id("up_")
        session = UploadSession(
            id=session_id,
            project_id=project.id,
            op_id="op_" + session_id.removeprefix("up_"),
            groups=list(groups_raw) or ["main"],
            items=items,
            created_at=now,
            expires_at=now + self.config.upload_session_ttl_ms,
        )
        self.store.upload_sessions[session.id] = session
        self.store.operations[session.op_id] = Operation(
            session.op_id, project.id, UPLOAD_KIND, "asset", now, session.id
        )
        project.session_creations.append(now)
        self.store.created.upload_sessions += 1
        return session

    def upload_target(self, session: UploadSession, item: UploadItem) -> SignedTarget:
        """The signed storage request for one session item."""
        headers = {"content-type": item.mime}
        if item.crc32c:
            headers["x-goog-hash"] = "crc32c=" + crc32c_b64(item.crc32c & 0xFFFFFFFF)
        link = json.dumps({"session": session.id, "filename": item.filename}).encode()
        headers["x-goog-meta-datature-upload"] = base64.b64encode(link).decode("ascii")
        return SignedTarget(
            "PUT",
            f"/_storage/ingest/{session.id}/{item.index}",
            headers,
            self.now() + self.config.upload_url_ttl_ms,
            {"x-nexus-size": str(item.size), "x-nexus-closes": str(session.expires_at)},
        )

    def signed_item_uploads(
        self, session: UploadSession, signer: UrlSigner
    ) -> Iterator[tuple[UploadItem, str, str, str | None, str, int]]:
        """(item, its filename as JSON text, signed ``path?query``, ``x-goog-hash`` header (None
        without a CRC), ``x-goog-meta-datature-upload`` header, expiry) of every item: what
        ``signer.sign(self.upload_target(session, item))`` gives, with what the items share
        computed once per session (the hot part of creating a large session)."""
        expires = self.now() + self.config.upload_url_ttl_ms
        closes = session.expires_at
        prefix = f"/_storage/ingest/{session.id}/"
        link_head = '{"session": ' + json.dumps(session.id) + ', "filename": '
        hashes: dict[int, str] = {}
        for item in session.items:
            mime, size, index, filename = item.mime, item.size, item.index, item.filename
            if (
                filename.isascii()
                and filename.isprintable()
                and '"' not in filename
                and "\\" not in filename
            ):
                quoted = f'"{filename}"'  # what json.dumps gives, without its call
            else:
                quoted = json.dumps(filename)
            link = binascii.b2a_base64(f"{link_head}{quoted}}}".encode(), newline=False).decode()
            digest: str | None = None
            if item.crc32c:
                digest = hashes.get(item.crc32c)
                if digest is None:
                    digest = hashes[item.crc32c] = "crc32c=" + crc32c_b64(item.crc32c & 0xFFFFFFFF)
                names = "content-type%3Bx-goog-hash%3Bx-goog-meta-datature-upload"
                hashed = f"x-goog-hash:{digest}\n"
            else:
                names = "content-type%3Bx-goog-meta-datature-upload"
                hashed = ""
            signature = signer.mac(
                f"PUT\n{prefix}{index}\n{expires}\ncontent-type:{mime.strip()}\n{hashed}"
                f"x-goog-meta-datature-upload:{link}\nx-nexus-closes={closes}\nx-nexus-size={size}"
            )
            url = (
                f"{prefix}{index}?X-Goog-Expires={expires}&X-Goog-SignedHeaders={names}"
                f"&x-nexus-size={size}&x-nexus-closes={closes}&X-Goog-Signature={signature}"
            )
            yield item, quoted, url, digest, link, expires

    # -- session state ---------------------------------------------------------------

    def get_upload_session(self, project: Project, session_id: str) -> UploadSession:
        """One session of the project, else 404."""
        return owned_by(project, self.store.upload_sessions, session_id, "Upload Session")

    def session_is_open(self, session: UploadSession) -> bool:
        """Not cancelled, not expired and still waiting for files."""
        return (
            session.cancelled_at is None
            and self.now() < session.expires_at
            and session.received < len(session.items)
        )

    def cancel_upload_session(self, project: Project, session_id: str) -> str:
        """``:cancel``: 409 unless the session is still open."""
        session = self.get_upload_session(project, session_id)
        if not self.session_is_open(session):
            raise conflict("Upload session is already finished or cancelled")
        session.cancelled_at = self.now()
        self.on_session_closed(session.id)
        return session.id

    def open_upload_sessions(self) -> int:
        """How many upload sessions are still open."""
        return sum(1 for s in self.store.upload_sessions.values() if self.session_is_open(s))

    def receive_item(
        self, session: UploadSession, item: UploadItem, blobs: list[Extent], at: int | None = None
    ) -> None:
        """An item's bytes arrived (at ``at``, default now) and were verified: ingest it."""
        now = self.now() if at is None else at
        project = self.store.projects[session.project_id]
        asset = self.store_asset(
            project,
            filename=item.filename,
            mime=item.mime,
            size=item.size,
            blobs=blobs,
            groups=session.groups,
            visible_at=finished_at(now, self.config.timing),
            custom_metadata=item.custom_metadata,
        )
        if item.received_at is not None:  # sent again while the session was open
            session.arrivals.remove(item.received_at)
        item.received_at = now
        item.asset_id = asset.id
        insort(session.arrivals, now)
        if session.received == len(session.items):
            self.on_session_closed(session.id)

    def receive_ingest(self, session_id: str, index: int, at: int, blob: Extent) -> None:
        """A storage worker stored item ``index`` at ``at`` in ``blob``: ingest it, unless the
        session is unknown (reset meanwhile) or was cancelled before the item arrived."""
        session = self.store.upload_sessions.get(session_id)
        if session is None or not 0 <= index < len(session.items):
            return
        if session.cancelled_at is not None and at >= session.cancelled_at:
            return
        self.receive_item(session, session.items[index], [blob], at)

    def ingest_slot(self, session_id: str, index: str) -> tuple[UploadSession, UploadItem]:
        """The (session, item) a single-shot storage PUT writes to; 403 once the session is
        closed: cancelled, expired, or complete (a replayed URL cannot rewrite an asset)."""
        session = self.store.upload_sessions.get(session_id)
        if session is None or not index.isdigit() or int(index) >= len(session.items):
            raise StorageError(404, "NoSuchKey")
        if not self.session_is_open(session):
            raise StorageError(403, "AccessDenied", "The upload session is closed")
        return session, session.items[int(index)]

    # -- multipart -------------------------------------------------------------------

    def create_multipart(
        self, project: Project, session_id: str, body: dict[str, Any]
    ) -> MultipartUpload:
        """Start a multipart upload for one item; the server chooses ``partCount``."""
        session = self.get_upload_session(project, session_id)
        if not self.session_is_open(session):
            raise conflict("Upload session is not open")
        filename = require_str(body, "filename")
        mime = require_str(body, "mime")
        size = require_int(body, "size")
        item = next((i for i in session.items if i.filename == filename), None)
        if item is None:
            raise bad_request(f"{filename} is not part of upload session {session.id}")
        if size != item.size or size <= 0:
            raise bad_request("size differs from the size declared in the session")
        part_count = min(
            max(1, math.ceil(size / self.config.multipart_part_size)),
            self.config.max_multipart_parts,
            size,
        )
        upload = MultipartUpload(
            ids.uuid_id("mpu_"), project.id, session.id, item.index, size, mime, part_count
        )
        self.store.multipart_uploads[upload.id] = upload
        item.multipart_id = upload.id
        self.store.created.multipart_uploads += 1
        return upload

    def get_multipart(self, project: Project, mpu_id: str) -> MultipartUpload:
        """One multipart upload of the project, else 404."""
        return owned_by(project, self.store.multipart_uploads, mpu_id, "Multipart Upload")

    def _active_multipart(self, project: Project, mpu_id: str) -> MultipartUpload:
        upload = self.get_multipart(project, mpu_id)
        if upload.state != "Created":
            raise conflict(f"Multipart upload is {upload.state.lower()}")
        if not self.session_is_open(self.store.upload_sessions[upload.session_id]):
            raise conflict("Upload session is not open")
        return upload

    def part_target(self, project: Project, mpu_id: str, part_number: int) -> SignedTarget:
        """The signed storage request for one part."""
        upload = self._active_multipart(project, mpu_id)
        if not 1 <= part_number <= upload.part_count:
            raise bad_request(f"partNumber must be between 1 and {upload.part_count}")
        return SignedTarget(
            "PUT",
            f"/_storage/multipart/{upload.id}/{part_number}",
            {"content-type": "application/octet-stream"},
            self.now() + self.config.upload_url_ttl_ms,
        )

    def multipart_slot(self, mpu_id: str, part: str) -> tuple[MultipartUpload, int]:
        """The (upload, part number) a storage PUT writes to; 403 when closed."""
        upload = self.store.multipart_uploads.get(mpu_id)
        if upload is None or not part.isdigit() or not 1 <= int(part) <= upload.part_count:
            raise StorageError(404, "NoSuchKey")
        session = self.store.upload_sessions[upload.session_id]
        if upload.state != "Created" or not self.session_is_open(session):
            raise StorageError(403, "AccessDenied", "The multipart upload is closed")
        return upload, int(part)

    def store_part(
        self, upload: MultipartUpload, number: int, path: Path, size: int, crc: int
    ) -> str:
        """Record an uploaded part and return its ETag."""
        etag = f'"{crc:08x}{size:x}"'
        old = upload.parts.get(number)
        if old is not None:
            old.path.unlink(missing_ok=True)
        upload.parts[number] = MultipartPart(size, etag, path)
        return etag

    def complete_part(
        self, project: Project, mpu_id: str, part_number: int, body: dict[str, Any]
    ) -> bool:
        """Confirm a part with the ETag the client read back; False asks for a retry."""
        upload = self._active_multipart(project, mpu_id)
        if not 1 <= part_number <= upload.part_count:
            raise bad_request(f"partNumber must be between 1 and {upload.part_count}")
        headers = require_object(body.get("responseHeaders", {}), "responseHeaders")
        etag = next((str(v) for k, v in headers.items() if str(k).lower() == "etag"), "")
        part = upload.parts.get(part_number)
        if part is None or etag.strip('"') != part.etag.strip('"'):
            return False
        part.completed = True
        return True

    def complete_multipart(self, project: Project, mpu_id: str) -> MultipartUpload:
        """Assemble the parts: every part completed and the sizes add up, else 400."""
        upload = self._active_multipart(project, mpu_id)
        parts = [upload.parts.get(n) for n in range(1, upload.part_count + 1)]
        if any(p is None or not p.completed for p in parts):
            raise bad_request("every part must be uploaded and completed")
        blobs = [Extent.whole(p.path, p.size) for p in parts if p is not None]
        if sum(p.size for p in parts if p is not None) != upload.size:
            raise bad_request("the parts do not add up to the declared size")
        upload.state = "Completed"
        session = self.store.upload_sessions[upload.session_id]
        self.receive_item(session, session.items[upload.item_index], blobs)
        return upload

    def abort_multipart(self, project: Project, mpu_id: str) -> str:
        """Abort a multipart upload and drop its parts."""
        upload = self.get_multipart(project, mpu_id)
        if upload.state == "Completed":
            raise conflict("Multipart upload is already completed")
        upload.state = "Aborted"
        for part in upload.parts.values():
            part.path.unlink(missing_ok=True)
        upload.parts.clear()
        return upload.id
