"""The arrival journal: how storage workers tell the API process what happened.

Each worker appends JSON lines to one shared file opened with ``O_APPEND`` (one ``write`` per
request, so lines of different workers never interleave); the API process reads what is new
when it next answers a request. Records: ``["r", new_header_names]`` a storage request,
``["b", size]`` bytes received, ``["c"]`` a checksum failure, ``["s"]`` a size mismatch,
``["a", session_id, index, time_ms]`` an item arrived, ``["f", rule_id]`` a fault triggered.
The records are JSON arrays, one per line, so that the reader parses a whole batch of lines
with one ``json.loads``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

READ_CHUNK = 1024 * 1024


class JournalWriter:
    """A worker's side: buffer the records of one request, then ``flush`` them in one write."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._lines: list[str] = []
        self._seen_headers: set[str] = set()

    def add(self, *record: Any) -> None:
        """Queue one record."""
        self._lines.append(json.dumps(record, separators=(",", ":")))

    def arrival(self, session_id: str, index: int, at_ms: int) -> None:
        """Item ``index`` of ``session_id`` was stored at ``at_ms``."""
        self._lines.append(f'["a",{json.dumps(session_id)},{index:d},{at_ms:d}]')

    def flush(self) -> None:
        """Append the queued records."""
        if self._lines:
            os.write(self._fd, ("\n".join(self._lines) + "\n").encode())
            self._lines.clear()

    def close(self) -> None:
        """Flush and close the file."""
        self.flush()
        os.close(self._fd)

    # -- StorageCounters -------------------------------------------------------------

    def count_storage_request(self, header_names: Iterable[str]) -> None:
        """A request; header names are sent once per worker."""
        seen = self._seen_headers
        if seen.issuperset(header_names):
            self._lines.append('["r",[]]')
            return
        new = [name for name in header_names if name not in seen]
        seen.update(new)
        self.add("r", new)

    def count_storage_bytes(self, size: int) -> None:
        """A body arrived."""
        self._lines.append(f'["b",{size:d}]')

    def count_checksum_failure(self) -> None:
        """A CRC-32C mismatch."""
        self.add("c")

    def count_size_mismatch(self) -> None:
        """A size mismatch."""
        self.add("s")


class JournalReader:
    """The API's side: the complete records appended since the last ``read``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._offset = 0
        self._partial = b""

    def read(self) -> list[list[Any]]:
        """New records (a line still being written waits for the next call)."""
        chunks = []
        while chunk := os.pread(self._fd, READ_CHUNK, self._offset):
            self._offset += len(chunk)
            chunks.append(chunk)
        if not chunks:
            return []
        data = self._partial + b"".join(chunks)
        complete, _, self._partial = data.rpartition(b"\n")
        if not complete:
            return []
        records: list[list[Any]] = json.loads(b"[" + complete.replace(b"\n", b",") + b"]")
        return records

    def restart(self) -> None:
        """Empty the journal (emulator reset)."""
        os.truncate(self.path, 0)
        self._offset = 0
        self._partial = b""

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)
