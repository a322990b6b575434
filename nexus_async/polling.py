"""Waiting for long-running server work: operations, batch datasets, import sessions.

One poller serves them all. It checks at once, then backs off (0.25 s, 0.5 s, 1 s ... up to
10 s by default) until the work reaches a terminal state, and then returns it or raises:

* a success state returns the last state seen;
* a failure state raises :class:`~nexus_async.OperationFailedError`;
* ``Cancelled`` raises :class:`~nexus_async.OperationCancelledError` (the official SDK keeps
  polling a cancelled operation until its 10 h timeout);
* running out of time raises :class:`~nexus_async.OperationTimeoutError`.

Cancelling the awaiting task stops the poller at once. Example::

    schedule = PollSchedule(first_delay=0.1, max_delay=2)
    op = await project.operations.wait_until_done(op_id, timeout=600, schedule=schedule)
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_result,
    stop_before_delay,
    stop_never,
    wait_exponential,
)

from nexus_async._clock import Sleep
from nexus_async._constants import POLL_FIRST_DELAY, POLL_MAX_DELAY, POLL_MULTIPLIER
from nexus_async._exceptions import (
    OperationCancelledError,
    OperationFailedError,
    OperationTimeoutError,
)
from nexus_async._retry import sleep_of
from nexus_async._validation import check_seconds

__all__ = ["PollSchedule", "poll_until_done"]

logger = logging.getLogger("nexus_async")

StateT = TypeVar("StateT")


@dataclasses.dataclass(frozen=True)
class PollSchedule:
    """When to check again: ``first_delay`` after the first check, then multiplied by
    ``multiplier`` after every check, never more than ``max_delay`` seconds apart."""

    first_delay: float = POLL_FIRST_DELAY
    max_delay: float = POLL_MAX_DELAY
    multiplier: float = POLL_MULTIPLIER

    def __post_init__(self) -> None:
        if self.first_delay < 0 or self.max_delay < self.first_delay or self.multiplier < 1:
            raise ValueError(f"Invalid poll schedule: {self}")


async def poll_until_done(
    fetch: Callable[[], Awaitable[StateT]],
    *,
    state_of: Callable[[StateT], str],
    succeeded: Collection[str],
    failed: Collection[str],
    cancelled: Collection[str] = (),
    resource_id: str,
    kind: str = "Operation",
    timeout: float | None = None,
    schedule: PollSchedule | None = None,
    on_poll: Callable[[StateT], None] | None = None,
    sleep: Sleep | None = None,
) -> StateT:
    """Call ``fetch`` until ``state_of(result)`` is terminal, and return or raise as described
    in the module docstring. ``timeout`` (seconds, None for no limit) bounds the whole wait;
    ``on_poll`` sees every state fetched (for progress displays); ``sleep`` waits between
    checks (the client's clock; ``anyio.sleep`` when None)."""
    check_seconds("timeout", timeout)
    schedule = schedule or PollSchedule()
    terminal = {*succeeded, *failed, *cancelled}

    async def checked_fetch() -> StateT:
        state = await fetch()
        if on_poll is not None:
            on_poll(state)
        return state

    def timed_out(retry_state: RetryCallState) -> StateT:
        last = retry_state.outcome.result() if retry_state.outcome else None
        last_state = state_of(last) if last is not None else "unknown"
        raise OperationTimeoutError(
            f"{kind} {resource_id} was still {last_state} after {timeout} s",
            operation_id=resource_id,
            operation=last,
        )

    retrying = AsyncRetrying(
        retry=retry_if_result(lambda state: state_of(state) not in terminal),
        wait=wait_exponential(
            multiplier=schedule.first_delay,
            exp_base=schedule.multiplier,
            max=schedule.max_delay,
        ),
        stop=stop_before_delay(timeout) if timeout is not None else stop_never,
        sleep=sleep_of(sleep),
        retry_error_callback=timed_out,
    )
    state: StateT = await retrying(checked_fetch)
    overview = state_of(state)
    logger.debug("%s %s ended %s", kind, resource_id, overview)
    if overview in succeeded:
        return state
    error = OperationCancelledError if overview in cancelled else OperationFailedError
    reason = _server_reason(state)
    message = f"{kind} {resource_id} ended {overview}" + (f": {reason}" if reason else "")
    raise error(message, operation_id=resource_id, operation=state)


def _server_reason(state: object) -> str | None:
    """The server's own words on how the work ended (``status.message``), when it has some."""
    message = getattr(getattr(state, "status", None), "message", None)
    return message if isinstance(message, str) and message.strip() else None
