"""The ``Emulator`` object: state, blob store, URL signer, faults and stats in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nexus_async.emulator.blobs import BlobStore, UrlSigner
from nexus_async.emulator.clock import Clock, SystemClock
from nexus_async.emulator.config import EmulatorConfig, TimingConfig
from nexus_async.emulator.errors import bad_request
from nexus_async.emulator.faults import FaultSet
from nexus_async.emulator.state import EmulatorState
from nexus_async.emulator.stats import Stats

if TYPE_CHECKING:
    from nexus_async.emulator.storage.workers import StorageWorkers


class Emulator:
    """In-process control of an emulator: ``reset``, ``seed``, ``add_fault``, ``stats``.

    The default workspace (when ``config.default_project``) is exposed as ``secret_key``,
    ``workspace_id`` and ``project_id``.
    """

    def __init__(self, config: EmulatorConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock: Clock = clock or SystemClock()
        self.blobs = BlobStore(self.config.data_dir)
        self.signer = UrlSigner(self.config.signing_secret)
        self.state = EmulatorState(self.config, self.clock, self.blobs)
        self.faults = FaultSet()
        self.counters = Stats()
        self.storage_workers: StorageWorkers | None = None
        self.secret_key: str | None = None
        self.workspace_id: str | None = None
        self.project_id: str | None = None
        self.reset()

    def reset(self) -> dict[str, Any]:
        """Forget everything (state, blobs, faults, counters); re-create the default project."""
        self.state.reset_store()
        self.blobs.clear()
        self.faults.clear()
        self.counters.clear()
        if self.storage_workers is not None:
            self.storage_workers.reset()
        self.secret_key = self.workspace_id = self.project_id = None
        if self.config.default_project:
            workspace, project = self.state.seed_default()
            self.secret_key = workspace.secret_key
            self.workspace_id = workspace.id
            self.project_id = project.id
        return self.default_ids()

    def default_ids(self) -> dict[str, Any]:
        """Key and ids of the default workspace/project (None when there is none)."""
        return {
            "secret_key": self.secret_key,
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
        }

    def seed(self, spec: object) -> dict[str, Any]:
        """Create workspaces/projects/assets/annotations/workflows; return the created ids."""
        return self.state.seed(spec)

    def add_fault(self, rule: object) -> dict[str, Any]:
        """Add a fault rule (see ``FaultRule``); returns it as JSON with its id."""
        return self.faults.add(rule).to_json()

    def set_timing(self, spec: object) -> dict[str, int]:
        """Change the delays (``queue_ms``, ``processing_ms``); returns the current values."""
        if not isinstance(spec, dict):
            raise bad_request("timing must be an object")
        values = {}
        for key in ("queue_ms", "processing_ms"):
            value = spec.get(key, getattr(self.config.timing, key))
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise bad_request(f"{key} must be a non-negative integer")
            values[key] = value
        self.config.timing = TimingConfig(**values)
        return values

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.faults.clear()

    def sync_storage(self) -> None:
        """Apply what storage workers reported since the last call (no-op without workers)."""
        if self.storage_workers is not None:
            self.storage_workers.sync()

    def stats(self) -> dict[str, Any]:
        """Counters: requests per route, storage traffic, open sessions, created resources."""
        self.sync_storage()
        data = self.counters
        created = self.state.store.created
        return {
            "requests": dict(data.requests),
            "open_upload_sessions": self.state.open_upload_sessions(),
            "assets_stored": sum(len(p.assets) for p in self.state.store.projects.values()),
            "storage": {
                "requests": data.storage_requests,
                "bytes_received": data.storage_bytes_received,
                "checksum_failures": data.checksum_failures,
                "size_mismatches": data.size_mismatches,
                "header_names": sorted(data.storage_header_names),
            },
            "created": {
                "upload_sessions": created.upload_sessions,
                "multipart_uploads": created.multipart_uploads,
                "annotations": created.annotations,
                "exports": created.exports,
                "datasets": created.datasets,
                "import_sessions": created.import_sessions,
            },
            "faults": {
                "triggered": data.faults_triggered,
                "rules": [r.to_json() for r in self.faults.rules],
            },
        }

    def close(self) -> None:
        """Stop storage workers; release the data directory (removed when temporary)."""
        if self.storage_workers is not None:
            self.storage_workers.close()
            self.storage_workers = None
        self.blobs.close()
