"""Injectable clocks (milliseconds since the Unix epoch)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time in integer milliseconds."""

    def now_ms(self) -> int:
        """Return the current time in ms since the epoch."""
        ...


class SystemClock:
    """The wall clock."""

    def now_ms(self) -> int:
        """Return the wall-clock time in ms."""
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to (for tests and scripted demos)."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        """Return the frozen time."""
        return self._now

    def advance(self, ms: int) -> int:
        """Move time forward by ``ms`` and return the new time."""
        self._now += ms
        return self._now

    def set(self, now_ms: int) -> None:
        """Jump to ``now_ms``."""
        self._now = now_ms
