"""Where the SDK reads the time and waits: between retries, between polls, and for the
upload-session limit. A client takes one (``AsyncClient(clock=...)``) and hands it to every
part that waits, so a test or a simulation can run those waits on virtual time.

Example::

    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    client = AsyncClient("key", clock=Clock(sleep=record))  # retries no longer sleep
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

__all__ = ["Clock", "Sleep"]

Sleep = Callable[[float], Awaitable[None]]
"""An async function that waits that many seconds (``anyio.sleep`` by default)."""


@dataclasses.dataclass(frozen=True)
class Clock:
    """``sleep`` waits between attempts and polls; ``monotonic`` reads the time the
    upload-session limiter counts its window in. None means the real one."""

    sleep: Sleep | None = None
    monotonic: Callable[[], float] | None = None
