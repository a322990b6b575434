"""Request and storage counters exposed by ``GET /_emulator/stats``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Stats:
    """Counters the control plane reports (reset with the emulator)."""

    requests: Counter[str] = field(default_factory=Counter)
    storage_requests: int = 0
    storage_bytes_received: int = 0
    checksum_failures: int = 0
    size_mismatches: int = 0
    storage_header_names: set[str] = field(default_factory=set)
    faults_triggered: int = 0

    def clear(self) -> None:
        """Zero every counter."""
        self.requests.clear()
        self.storage_requests = 0
        self.storage_bytes_received = 0
        self.checksum_failures = 0
        self.size_mismatches = 0
        self.storage_header_names.clear()
        self.faults_triggered = 0
