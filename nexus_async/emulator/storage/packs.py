"""A storage worker's blob store: bodies written into a few large pack files, no file per blob.

Creating one file per blob costs the kernel an inode, which was most of a PUT's CPU on ext4
(``benchmarks/EMULATOR.md``); a positional write into a preallocated pack costs a few µs.
Each upload reserves its declared size at the end of the worker's current pack and writes its
chunks there with ``pwrite``, so uploads on different connections interleave freely. A pack
belongs to one worker (no locking); its name is random, so a worker restarted on the same data
directory never writes into an old pack.

A blob is visible only once its extent is journaled (the journal is the index the API
applies, ``storage/journal.py``): a refused or cut body leaves unreferenced bytes, never a
visible blob. Overwriting an item writes a new extent and journals it; the old bytes stay
until an emulator reset deletes the packs.
"""

from __future__ import annotations

import contextlib
import os
import uuid

from nexus_async.emulator.blobs import Extent

PACK_DIR = "packs"
"""Directory of the pack files, under the data directory."""
PACK_BYTES = 1 << 30
"""A worker starts a new pack once its current one holds this much."""
PACK_GROW = 16 << 20
"""Preallocated ahead of the write position (one ``fallocate`` per 16 MiB of bodies: 256
bodies of 64 KiB; a worker that stores one small file does not hold 64 MiB of disk)."""


def pack_extent(root: str, name: str, offset: int, length: int) -> Extent | None:
    """The extent a worker journaled (pack ``name`` under data directory ``root``); None when
    the record cannot be right: a name that is not a pack of this store, or a range the pack
    file does not hold (a corrupted journal or a deleted pack is never served)."""
    if "/" in name or not name.endswith(".pack") or offset < 0 or length < 0:
        return None
    path = f"{root}/{PACK_DIR}/{name}"
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    return Extent(path, offset, length) if offset + length <= size else None


class PackStore:
    """The pack files one storage worker appends to (see the module docstring)."""

    def __init__(self, root: str, *, pack_bytes: int = PACK_BYTES, grow: int = PACK_GROW) -> None:
        self.directory = f"{root}/{PACK_DIR}"
        self._pack_bytes = pack_bytes
        self._grow = grow
        self._fd = -1
        self._name = ""
        self._end = 0
        """Where the next reservation starts."""
        self._allocated = 0
        self._retired: list[int] = []
        """Descriptors of packs no longer appended to; uploads in flight may still write
        through them, so they are closed only with the store."""

    def reserve(self, size: int) -> PackBlob:
        """Room for a body of ``size`` bytes at the end of the current pack."""
        if self._fd < 0 or (self._end > 0 and self._end + size > self._pack_bytes):
            self._start()
        offset = self._end
        self._end += size
        if self._end > self._allocated:
            target = max(self._end, self._allocated + self._grow)
            _preallocate(self._fd, self._allocated, target - self._allocated)
            self._allocated = target
        return PackBlob(self, self._fd, self._name, offset, size)

    def release(self, blob: PackBlob) -> None:
        """A reserved blob will not be journaled: reuse its room if nothing came after it."""
        if blob.fd == self._fd and blob.offset + blob.capacity == self._end:
            self._end = blob.offset

    def restart(self) -> None:
        """The API deleted the packs (emulator reset): start a new one on the next upload."""
        if self._fd >= 0:
            self._retired.append(self._fd)
        self._fd = -1

    def close(self) -> None:
        """Close every pack file."""
        self.restart()
        for fd in self._retired:
            os.close(fd)
        self._retired.clear()

    def _start(self) -> None:
        self.restart()
        os.makedirs(self.directory, exist_ok=True)
        self._name = f"{uuid.uuid4().hex}.pack"
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(f"{self.directory}/{self._name}", flags, 0o644)
        self._end = self._allocated = 0


def _preallocate(fd: int, offset: int, length: int) -> None:
    """Reserve disk blocks so that body writes do not allocate them one by one (best effort:
    some file systems and platforms cannot)."""
    allocate = getattr(os, "posix_fallocate", None)
    if allocate is not None:
        with contextlib.suppress(OSError):
            allocate(fd, offset, length)


class PackBlob:
    """One body being written into its reserved room of a pack (``write``, then journal
    ``extent``, or ``discard``)."""

    __slots__ = ("_store", "capacity", "fd", "name", "offset", "written")

    def __init__(self, store: PackStore, fd: int, name: str, offset: int, capacity: int) -> None:
        self._store = store
        self.fd = fd
        self.name = name
        self.offset = offset
        self.capacity = capacity
        self.written = 0

    def write(self, chunk: bytes) -> None:
        """Write ``chunk`` after the previous ones. Bytes beyond the reserved room are dropped:
        such a body fails its size check, and must not spill into the next body's room."""
        room = self.capacity - self.written
        view = memoryview(chunk)[:room] if len(chunk) > room else chunk
        while view:
            done = os.pwrite(self.fd, view, self.offset + self.written)
            self.written += done
            view = memoryview(view)[done:] if done < len(view) else b""

    def discard(self) -> None:
        """The body is refused or cut short: nothing will reference these bytes."""
        self._store.release(self)
