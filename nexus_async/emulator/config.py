"""Configuration of the local Nexus emulator."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

TimingMode = Literal["instant", "realistic"]


@dataclass
class TimingConfig:
    """Delays (milliseconds) of the asynchronous server work.

    Every item of work (an uploaded asset, an export, an import, a dataset) waits
    ``queue_ms`` in ``Queued`` after it became ready, then ``processing_ms`` in
    ``Running`` before reaching its terminal state.  ``instant`` uses zero for both.
    """

    queue_ms: int = 0
    processing_ms: int = 0

    @classmethod
    def for_mode(cls, mode: TimingMode) -> TimingConfig:
        """Return the default delays of a timing mode."""
        if mode == "realistic":
            return cls(queue_ms=500, processing_ms=2000)
        return cls()


@dataclass
class RateLimitConfig:
    """Sliding-window limit on upload-session creation, per project."""

    enabled: bool = True
    max_sessions: int = 15
    window_ms: int = 300_000


@dataclass
class EmulatorConfig:
    """Everything that can be tuned in the emulator (all sizes in bytes, times in ms)."""

    timing: TimingConfig = field(default_factory=TimingConfig)
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    data_dir: Path | None = None
    signing_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    default_project: bool = True
    default_secret_key: str | None = None
    max_items_per_session: int = 5000
    max_files_per_import_request: int = 1000
    max_files_per_import_session: int = 100_000
    custom_metadata_max_bytes: int = 4096
    max_page_limit: int = 1000
    upload_url_ttl_ms: int = 24 * 3600 * 1000
    download_url_ttl_ms: int = 24 * 3600 * 1000
    dataset_url_ttl_ms: int = 12 * 3600 * 1000
    dataset_expiry_ms: int = 10 * 24 * 3600 * 1000
    import_session_ttl_ms: int = 55 * 60 * 1000
    upload_session_ttl_ms: int = 48 * 3600 * 1000
    multipart_part_size: int = 64 * 1024 * 1024
    max_multipart_parts: int = 10_000
    seed: int | None = None
    storage_workers: int = 0
    """Extra processes serving item uploads on their own port (0: the API process serves them)."""

    @classmethod
    def with_timing(cls, mode: TimingMode, **kwargs: object) -> EmulatorConfig:
        """Build a config whose delays follow ``mode`` (``instant`` or ``realistic``)."""
        config = cls(**kwargs)  # type: ignore[arg-type]
        config.timing = TimingConfig.for_mode(mode)
        return config
