"""Annotation import sessions: files, status conditions, processing and logs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_async.emulator import formats, ids
from nexus_async.emulator.blobs import SignedTarget, parse_b64_crc32c
from nexus_async.emulator.errors import ApiError, StorageError, bad_request
from nexus_async.emulator.state.base import (
    owned_by,
    require_filename,
    require_int,
    require_object,
    require_str,
)
from nexus_async.emulator.state.exports import ExportMixin
from nexus_async.emulator.state.lifecycle import WorkItem, finished_at, item_state
from nexus_async.emulator.state.models import ImportFile, ImportLog, ImportSession, Project

CONDITIONS = {("FilesInserted", "Reached"), ("FilesProcessed", "FailedReach")}


@dataclass(frozen=True)
class ImportView:
    """An import session's state at one instant."""

    session: ImportSession
    overview: str
    message: str
    update_date: int
    files: dict[str, int]
    annotations: dict[str, int]


class ImportMixin(ExportMixin):
    """Annotation import sessions."""

    def create_import_session(self, project: Project) -> ImportSession:
        """Open a session (no body)."""
        now = self.now()
        session = ImportSession(
            ids.uuid_id("annotsess_"),
            project.id,
            now,
            now + self.config.import_session_ttl_ms,
            now,
        )
        self.store.import_sessions[session.id] = session
        self.store.created.import_sessions += 1
        return session

    def get_import_session(self, project: Project, session_id: str) -> ImportSession:
        """One session of the project, else 404."""
        return owned_by(
            project, self.store.import_sessions, session_id, "Annotation Import Session"
        )

    def list_import_sessions(self, project: Project) -> list[ImportSession]:
        """Every session of the project."""
        return [s for s in self.store.import_sessions.values() if s.project_id == project.id]

    def _import_open(self, session: ImportSession) -> bool:
        return (
            session.inserted_at is None
            and session.failed_at is None
            and self.now() < session.expires_at
        )

    def add_import_files(
        self, project: Project, session_id: str, body: dict[str, Any]
    ) -> tuple[ImportSession, list[tuple[ImportFile, SignedTarget]]]:
        """Announce files; returns each with its signed storage request."""
        session = self.get_import_session(project, session_id)
        if not self._import_open(session):
            raise bad_request("The annotation import session is not open for new files")
        files = body.get("files")
        if not isinstance(files, list) or not files:
            raise bad_request("files must be a non-empty list")
        if len(files) > self.config.max_files_per_import_request:
            raise bad_request(
                f"at most {self.config.max_files_per_import_request} files per request"
            )
        if len(session.files) + len(files) > self.config.max_files_per_import_session:
            raise bad_request(
                f"at most {self.config.max_files_per_import_session} files per import session"
            )
        parsed: list[ImportFile] = []
        for raw in files:
            entry = require_object(raw, "files[]")
            filename = require_filename(entry, base_name=False)
            size = require_int(entry, "size")
            crc = require_str(entry, "crc32c")
            if size < 0 or parse_b64_crc32c(crc) is None:
                raise bad_request("size must be >= 0 and crc32c a base64 CRC-32C digest")
            if filename in session.files or any(f.filename == filename for f in parsed):
                raise bad_request(f"File {filename} was already added to this session")
            parsed.append(ImportFile(filename, size, crc))
        result = []
        expires = min(session.expires_at, self.now() + self.config.upload_url_ttl_ms)
        for entry_file in parsed:
            index = len(session.files)
            session.files[entry_file.filename] = entry_file
            target = SignedTarget(
                "PUT",
                f"/_storage/imports/{session.id}/{index}",
                {"x-goog-hash": f"crc32c={entry_file.crc32c}"},
                expires,
            )
            result.append((entry_file, target))
        session.update_date = self.now()
        return session, result

    def import_slot(self, session_id: str, index: str) -> tuple[ImportSession, ImportFile]:
        """The file a storage PUT writes to; 403 once the session stopped taking files."""
        session = self.store.import_sessions.get(session_id)
        files = list(session.files.values()) if session else []
        if session is None or not index.isdigit() or int(index) >= len(files):
            raise StorageError(404, "NoSuchKey")
        if not self._import_open(session):
            raise StorageError(403, "AccessDenied", "The import session is closed")
        return session, files[int(index)]

    def receive_import_file(self, session: ImportSession, file: ImportFile, blob: Path) -> None:
        """Record a verified import file."""
        if file.blob is not None:
            file.blob.unlink(missing_ok=True)
        file.blob = blob
        session.update_date = self.now()

    def patch_import_session(
        self, project: Project, session_id: str, body: dict[str, Any]
    ) -> ImportSession:
        """Apply ``FilesInserted=Reached`` or ``FilesProcessed=FailedReach``."""
        session = self.get_import_session(project, session_id)
        status = require_object(body.get("status"), "status")
        conditions = status.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            raise bad_request("status.conditions must be a non-empty list")
        pairs = []
        for raw in conditions:
            condition = require_object(raw, "conditions[]")
            pair = (condition.get("condition"), condition.get("status"))
            if not all(isinstance(v, str) for v in pair) or pair not in CONDITIONS:
                raise bad_request(f"Unsupported condition {pair[0]!r}={pair[1]!r}")
            pairs.append(pair)
        if not self._import_open(session):
            raise bad_request("The annotation import session is no longer open")
        now = self.now()
        if ("FilesProcessed", "FailedReach") in pairs:
            session.failed_at = now
        else:
            session.inserted_at = now
            self._process_import(project, session)
        session.update_date = now
        return session

    def _process_import(self, project: Project, session: ImportSession) -> None:
        def lookup(filename: str) -> formats.AssetInfo | None:
            asset_id = project.asset_by_filename.get(filename)
            asset = project.assets.get(asset_id) if asset_id else None
            if asset is None or asset.visible_at > self.now():
                return None
            return formats.AssetInfo(asset.id, asset.filename, asset.width, asset.height)

        now = self.now()
        for file in session.files.values():
            if file.blob is None:
                session.failed_files += 1
                session.logs.append(ImportLog(now, "Error", f"At {file.filename}: never uploaded."))
                continue
            result = formats.parse_import_file(file.filename, file.blob.read_bytes(), lookup)
            if result is None:
                session.failed_files += 1
                message = f"At {file.filename}: unsupported annotation format."
                session.logs.append(ImportLog(now, "Error", message))
                continue
            session.processed_files += 1
            session.processed_annotations += result.found
            session.logs.extend(ImportLog(now, "Error", e) for e in result.errors)
            for parsed in result.annotations:
                try:
                    self.add_annotation(
                        project, parsed.asset_id, parsed.tag, parsed.bound_type, parsed.bound
                    )
                except ApiError as error:
                    session.logs.append(ImportLog(now, "Error", f"At {file.filename}: {error}"))
                    continue
                session.committed_annotations += 1

    def view_import_session(self, session: ImportSession) -> ImportView:
        """Evaluate the session's state now."""
        now = self.now()
        received = sum(1 for f in session.files.values() if f.blob is not None)
        files = {"Processing": received, "Processed": 0, "FailedProcess": 0}
        annotations = {"Processed": 0, "Committed": 0}
        update = session.update_date
        if session.failed_at is not None:
            overview, message = "Errored", "FilesProcessed failed: no file will be updated."
        elif session.inserted_at is None:
            if now >= session.expires_at:
                overview, message = "Errored", "Import session expired before files were inserted."
                update = session.expires_at
            else:
                overview, message = "Running", "Running."
        else:
            errored = bool(session.logs) or session.failed_files > 0
            state = item_state(WorkItem(session.inserted_at, errored), now, self.config.timing)
            if state in ("Queued", "Running"):
                overview, message = "Running", "Running."
            else:
                update = max(update, finished_at(session.inserted_at, self.config.timing))
                files = {
                    "Processing": 0,
                    "Processed": session.processed_files,
                    "FailedProcess": session.failed_files,
                }
                annotations = {
                    "Processed": session.processed_annotations,
                    "Committed": session.committed_annotations,
                }
                if state == "Finished":
                    overview, message = "Finished", "Annotation Imported successfully."
                else:
                    overview = "Errored"
                    message = "Annotation import finished with errors, please check the logs."
        return ImportView(session, overview, message, update, files, annotations)
