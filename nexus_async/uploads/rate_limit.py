"""The server allows 15 upload-session creations per 300 s per project (nexus-api.md §6.1).

One :class:`SessionCreationLimits` belongs to an :class:`~nexus_async.AsyncClient` and is
shared by every upload session it runs, so concurrent sessions of one client never exceed the
server's budget between them (the official SDK keeps one budget per session object).
"""

from __future__ import annotations

import collections
import time

import anyio

from nexus_async import _retry
from nexus_async._constants import SESSION_CREATION_WINDOW, SESSION_CREATIONS_PER_WINDOW

__all__ = ["SessionCreationLimits", "SlidingWindowLimiter"]


class SlidingWindowLimiter:
    """At most ``limit`` acquisitions in any ``window`` seconds; :meth:`acquire` waits for a slot.

    Example::

        limiter = SlidingWindowLimiter(15, 300.0)
        await limiter.acquire()  # returns at once for the first 15 calls in 300 s
    """

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"need limit >= 1 and window > 0, got {limit} per {window} s")
        self.limit = limit
        self.window = window
        self._granted: collections.deque[float] = collections.deque()
        self._lock = anyio.Lock()

    async def acquire(self) -> None:
        """Wait until one more acquisition fits in the window, then take it."""
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._granted and now - self._granted[0] >= self.window:
                    self._granted.popleft()
                if len(self._granted) < self.limit:
                    self._granted.append(now)
                    return
                await _retry._sleep(self._granted[0] + self.window - now)


class SessionCreationLimits:
    """One :class:`SlidingWindowLimiter` per project; ``None`` limits disable the wait."""

    def __init__(
        self,
        limit: int | None = SESSION_CREATIONS_PER_WINDOW,
        window: float = SESSION_CREATION_WINDOW,
    ) -> None:
        self.limit = limit
        self.window = window
        self._by_project: dict[str, SlidingWindowLimiter] = {}

    async def acquire(self, project_id: str) -> None:
        """Wait for a session-creation slot of ``project_id``."""
        if self.limit is None:
            return
        limiter = self._by_project.get(project_id)
        if limiter is None:
            limiter = self._by_project[project_id] = SlidingWindowLimiter(self.limit, self.window)
        await limiter.acquire()
