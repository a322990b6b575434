"""Request and storage counters exposed by ``GET /_emulator/stats``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
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

    def count_storage_request(self, header_names: Iterable[str]) -> None:
        """One signed-URL request with these header names."""
        self.requests["storage"] += 1
        self.storage_requests += 1
        self.storage_header_names.update(header_names)

    def count_storage_bytes(self, size: int) -> None:
        """A storage body of ``size`` bytes arrived."""
        self.storage_bytes_received += size

    def count_checksum_failure(self) -> None:
        """A storage body did not match its CRC-32C."""
        self.checksum_failures += 1

    def count_size_mismatch(self) -> None:
        """A storage body did not have its declared size."""
        self.size_mismatches += 1
