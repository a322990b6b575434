"""The arrival journal: how storage workers tell the API process what happened.

Each worker appends JSON lines to one shared file opened with ``O_APPEND`` (one ``write`` per
request, so lines of different workers never interleave); the API process reads what is new
when it next answers a request. Records: ``["r", new_header_names]`` a storage request,
``["b", size]`` bytes received, ``["c"]`` a checksum failure, ``["s"]`` a size mismatch,
``["a", session_id, index, time_ms, pack, offset, length]`` an item arrived and its bytes are
at ``offset`` of the worker's pack file ``pack`` (``storage/packs.py``), ``["f", rule_id]`` a
fault triggered. The records are JSON arrays, one per line, so that the reader parses a whole
batch of lines with one ``json.loads``; a line that does not parse (a worker killed in the
middle of a write) is skipped.

The journal is also the index of the workers' blobs: an item exists once its arrival is
journaled. An exclusive write (``x-goog-if-generation-match: 0``) checks the arrivals and
appends its own under an exclusive ``flock`` of the journal, so two workers cannot both
create the same item.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
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

    def arrival(
        self, session_id: str, index: int, at_ms: int, pack: str, offset: int, length: int
    ) -> None:
        """Item ``index`` of ``session_id`` was stored at ``at_ms``, in ``length`` bytes at
        ``offset`` of pack file ``pack``."""
        self._lines.append(
            f'["a",{json.dumps(session_id)},{index:d},{at_ms:d},"{pack}",{offset:d},{length:d}]'
        )

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the journal's exclusive lock (shared by every worker) for the block."""
        import fcntl  # POSIX only, like the storage workers

        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

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


def parse_lines(data: bytes) -> list[list[Any]]:
    """The records of complete journal lines; lines that do not parse are skipped."""
    try:
        records: list[list[Any]] = json.loads(b"[" + data.replace(b"\n", b",") + b"]")
        return records
    except ValueError:
        pass
    parsed = []
    for line in data.split(b"\n"):
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, list) and record:
                parsed.append(record)
    return parsed


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
        return parse_lines(complete)

    def restart(self) -> None:
        """Empty the journal (emulator reset)."""
        os.truncate(self.path, 0)
        self._offset = 0
        self._partial = b""

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


class ArrivalIndex:
    """A worker's view of which items any worker journaled as arrived (read from the journal
    only when an exclusive write asks, so ordinary uploads never read it)."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._offset = 0
        self._partial = b""
        self._arrived: set[tuple[str, int]] = set()

    def restart(self) -> None:
        """The journal was emptied (emulator reset): read it again from the start."""
        self._offset = 0
        self._partial = b""
        self._arrived.clear()

    def arrived(self, session_id: str, index: int) -> bool:
        """Whether item ``index`` of ``session_id`` was journaled (reads what is new)."""
        if os.fstat(self._fd).st_size < self._offset:
            self.restart()
        while chunk := os.pread(self._fd, READ_CHUNK, self._offset):
            self._offset += len(chunk)
            complete, _, self._partial = (self._partial + chunk).rpartition(b"\n")
            for line in complete.split(b"\n"):
                if line.startswith(b'["a",'):
                    with contextlib.suppress(ValueError, IndexError, TypeError):
                        record = json.loads(line)
                        self._arrived.add((record[1], record[2]))
        return (session_id, index) in self._arrived

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)
