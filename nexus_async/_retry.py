"""The retry policy, as data: what is retried, how long to wait, and how often.

One policy serves API calls and storage transfers. The rules (design.md §6):

* connection failures, 408, 429 and 5xx are retried for idempotent requests
  (GET, HEAD, PUT, DELETE, and storage transfers that resend the same bytes);
* a non-idempotent request (POST, PATCH) is retried only when it provably never reached the
  server (the connection could not be opened), or when the server refused it with 429/503 *and*
  a ``Retry-After`` (it did not act on it). Never after a read timeout: that would duplicate it;
* waits grow exponentially with jitter from ``initial_delay`` up to ``max_delay``; a server's
  ``Retry-After`` replaces the backoff, capped at ``retry_after_cap``.

Example::

    policy = RetryPolicy(max_retries=5)
    async for attempt in policy.retrying(idempotent=True, describe="GET /workspace"):
        with attempt:
            ...
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from nexus_async._clock import Sleep
from nexus_async._constants import (
    DEFAULT_MAX_RETRIES,
    RETRY_AFTER_CAP,
    RETRY_INITIAL_DELAY,
    RETRY_MAX_DELAY,
    RETRYABLE_STATUSES,
    SAFE_TO_RETRY_WITH_RETRY_AFTER,
)
from nexus_async._exceptions import APIConnectionError, APIStatusError, StorageError

logger = logging.getLogger("nexus_async")

T = TypeVar("T")


async def _sleep(seconds: float) -> None:
    """How a part made without a :class:`~nexus_async.Clock` waits (``anyio.sleep``)."""
    await anyio.sleep(seconds)


def sleep_of(sleep: Sleep | None) -> Sleep:
    """``sleep``, or the real one when none was injected."""
    return sleep if sleep is not None else (lambda seconds: _sleep(seconds))


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried. Immutable; derive variants with :meth:`replace`.

    ``sleep`` waits between attempts (``anyio.sleep`` when None); inject one to run the waits
    on virtual time, as ``AsyncClient(clock=Clock(sleep=...))`` does.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    initial_delay: float = RETRY_INITIAL_DELAY
    max_delay: float = RETRY_MAX_DELAY
    retry_after_cap: float = RETRY_AFTER_CAP
    sleep: Sleep | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")

    def replace(self, **changes: Any) -> RetryPolicy:
        """A copy of this policy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def is_retryable(self, error: BaseException, *, idempotent: bool) -> bool:
        """Whether ``error`` may be retried for a request of this kind."""
        if isinstance(error, APIConnectionError):
            return idempotent or not error.may_have_reached_server
        if isinstance(error, APIStatusError):
            if error.status_code not in RETRYABLE_STATUSES:
                return False
            if idempotent:
                return True
            return (
                error.status_code in SAFE_TO_RETRY_WITH_RETRY_AFTER
                and error.retry_after is not None
            )
        if isinstance(error, StorageError):
            return error.status_code is None or error.status_code in RETRYABLE_STATUSES
        return False

    def delay(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, (int, float)):
            return min(max(float(retry_after), 0.0), self.retry_after_cap)
        backoff = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return random.uniform(backoff / 2, backoff)

    def retrying(
        self,
        *,
        idempotent: bool,
        describe: str,
        before_wait: Callable[[BaseException, float], None] | None = None,
    ) -> AsyncRetrying:
        """A tenacity ``AsyncRetrying`` that applies this policy; ``describe`` names the request
        in log lines (never put secrets or signed URLs in it). ``before_wait(error, seconds)``
        hears every wait before a retry; an exception it raises ends the retries."""

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.delay(state.attempt_number, error)

        def log_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if before_wait is not None and error is not None:
                before_wait(error, state.upcoming_sleep)
            self._log_retry(describe, state.attempt_number, state.upcoming_sleep, error)

        return AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            retry=retry_if_exception(lambda e: self.is_retryable(e, idempotent=idempotent)),
            wait=wait,
            sleep=sleep_of(self.sleep),
            before_sleep=log_retry,
            reraise=True,
        )

    async def call(
        self, attempt: Callable[[], Awaitable[T]], *, idempotent: bool, describe: str
    ) -> T:
        """``await attempt()``, again after each retryable failure, as :meth:`retrying` would.

        Nothing is built for a call whose first attempt succeeds: a bulk upload makes
        thousands of transfers and nearly all of them succeed at once.

        Example::

            headers = await policy.call(put_once, idempotent=True, describe="PUT /b/a.png")
        """
        number = 1
        while True:
            try:
                return await attempt()
            except Exception as error:
                if number > self.max_retries or not self.is_retryable(error, idempotent=idempotent):
                    raise
                seconds = self.delay(number, error)
                self._log_retry(describe, number, seconds, error)
            await sleep_of(self.sleep)(seconds)
            number += 1

    def _log_retry(
        self, describe: str, failed_attempt: int, seconds: float, error: BaseException | None
    ) -> None:
        logger.info(
            "Retrying %s (attempt %d of %d) in %.2fs after: %s",
            describe,
            failed_attempt + 1,
            self.max_retries + 1,
            seconds,
            error,
        )
