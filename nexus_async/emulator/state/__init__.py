"""Pure state and rules of the emulator (no HTTP types): one mixin per resource family."""

from __future__ import annotations

from nexus_async.emulator.state.base import CreationCounters, Page, Store
from nexus_async.emulator.state.storage import StorageMixin, StorageSlot


class EmulatorState(StorageMixin):
    """All resource families combined; the object the routes talk to."""


__all__ = ["CreationCounters", "EmulatorState", "Page", "StorageSlot", "Store"]
