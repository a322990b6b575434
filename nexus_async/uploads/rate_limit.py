"""The server allows 15 upload-session creations per 300 s per project (nexus-api.md §6.1).

One :class:`SessionCreationLimits` belongs to an :class:`~nexus_async.AsyncClient` and is
shared by every upload session it runs, so concurrent sessions of one client never exceed the
server's budget between them (the official SDK keeps one budget per session object).

A wait for the limit is never silent: :class:`RateLimitWaits` logs one WARNING with its length,
reports it to the upload's progress, or (``on_rate_limit="raise"``) raises
:class:`~nexus_async.RateLimitError` instead of waiting.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Literal

import anyio
import httpx

from nexus_async._clock import Clock
from nexus_async._constants import SESSION_CREATION_WINDOW, SESSION_CREATIONS_PER_WINDOW
from nexus_async._exceptions import InvalidInputError, RateLimitError
from nexus_async._retry import sleep_of

__all__ = ["OnRateLimit", "RateLimitWaits", "SessionCreationLimits", "SlidingWindowLimiter"]

logger = logging.getLogger("nexus_async")

OnRateLimit = Literal["wait", "raise"]
"""What an upload does when it must wait for the upload-session limit."""


class SlidingWindowLimiter:
    """At most ``limit`` acquisitions in any ``window`` seconds; :meth:`acquire` waits for a slot.

    Example::

        limiter = SlidingWindowLimiter(15, 300.0)
        await limiter.acquire()  # returns at once for the first 15 calls in 300 s
    """

    def __init__(self, limit: int, window: float, *, clock: Clock | None = None) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"need limit >= 1 and window > 0, got {limit} per {window} s")
        self.limit = limit
        self.window = window
        clock = clock or Clock()
        self._monotonic = clock.monotonic or (lambda: time.monotonic())
        self._sleep = sleep_of(clock.sleep)
        self._granted: collections.deque[float] = collections.deque()
        self._lock = anyio.Lock()

    def _expire(self, now: float) -> None:
        while self._granted and now - self._granted[0] >= self.window:
            self._granted.popleft()

    def wait_time(self) -> float:
        """Seconds until one more acquisition would fit (0 when one fits now)."""
        now = self._monotonic()
        self._expire(now)
        if len(self._granted) < self.limit:
            return 0.0
        return self._granted[0] + self.window - now

    async def acquire(self, before_wait: Callable[[float], None] | None = None) -> None:
        """Wait until one more acquisition fits in the window, then take it. ``before_wait``
        hears the length of every wait before it starts (it may raise to refuse it)."""
        async with self._lock:
            while True:
                wait = self.wait_time()
                if wait <= 0:
                    self._granted.append(self._monotonic())
                    return
                if before_wait is not None:
                    before_wait(wait)
                await self._sleep(wait)


class SessionCreationLimits:
    """One :class:`SlidingWindowLimiter` per project; ``None`` limits disable the wait."""

    def __init__(
        self,
        limit: int | None = SESSION_CREATIONS_PER_WINDOW,
        window: float = SESSION_CREATION_WINDOW,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._by_project: dict[str, SlidingWindowLimiter] = {}

    def limiter(self, project_id: str) -> SlidingWindowLimiter | None:
        """The limiter of ``project_id`` (None when limits are disabled)."""
        if self.limit is None:
            return None
        limiter = self._by_project.get(project_id)
        if limiter is None:
            limiter = self._by_project[project_id] = SlidingWindowLimiter(
                self.limit, self.window, clock=self._clock
            )
        return limiter

    async def acquire(
        self, project_id: str, before_wait: Callable[[float], None] | None = None
    ) -> None:
        """Wait for a session-creation slot of ``project_id``."""
        limiter = self.limiter(project_id)
        if limiter is not None:
            await limiter.acquire(before_wait)


class RateLimitWaits:
    """How one upload meets the upload-session limit: it logs every wait (WARNING, with its
    length) and reports it through ``on_wait``, or refuses to wait and raises
    :class:`~nexus_async.RateLimitError` (``on_rate_limit="raise"``)."""

    def __init__(
        self,
        project_id: str,
        on_rate_limit: OnRateLimit = "wait",
        on_wait: Callable[[float | None], None] | None = None,
    ) -> None:
        if on_rate_limit not in ("wait", "raise"):
            raise InvalidInputError(
                f'on_rate_limit must be "wait" or "raise", got {on_rate_limit!r}'
            )
        self.project_id = project_id
        self.fail_fast = on_rate_limit == "raise"
        self._on_wait = on_wait

    def client_limit(
        self, limits: SessionCreationLimits, create_url: str
    ) -> Callable[[float], None]:
        """The ``before_wait`` hook of the client's own limiter."""

        def before_wait(seconds: float) -> None:
            where = f"{limits.limit} per {limits.window:g} s, this client's own limit"
            if self.fail_fast:
                raise _client_side_error(seconds, where, create_url)
            self._announce(seconds, where)

        return before_wait

    def server_refusal(self, error: BaseException, seconds: float) -> None:
        """Called before a retry of a refused session creation waits ``seconds``."""
        if isinstance(error, RateLimitError):
            if self.fail_fast:
                raise error
            self._announce(seconds, "the server answered 429")

    def _announce(self, seconds: float, where: str) -> None:
        logger.warning(
            "Waiting %.1f s for the upload-session limit of project %s (%s)",
            seconds,
            self.project_id,
            where,
        )
        if self._on_wait is not None:
            self._on_wait(seconds)

    def done_waiting(self) -> None:
        """The wait is over (progress shows no wait any more)."""
        if self._on_wait is not None:
            self._on_wait(None)


def _client_side_error(seconds: float, where: str, create_url: str) -> RateLimitError:
    message = (
        f"Creating an upload session would wait {seconds:.1f} s for the upload-session limit "
        f"({where}); nothing was sent"
    )
    body = {"code": "ClientRateLimit", "message": message}
    response = httpx.Response(
        429,
        headers={"Retry-After": str(math.ceil(seconds))},
        content=json.dumps(body).encode(),
        request=httpx.Request("POST", create_url),
    )
    return RateLimitError(
        message, response=response, body=body, code="ClientRateLimit", retry_after=seconds
    )
