"""Virtual time for tests: the SDK's waits are recorded and advance the clock at once."""

from __future__ import annotations

import anyio.lowlevel

from nexus_async import Clock


class VirtualClock:
    """A :class:`~nexus_async.Clock` whose ``sleep`` returns at once (after letting other
    tasks run, as a real sleep does), records its length in ``slept`` and moves ``now`` on.

    Example::

        virtual = VirtualClock()
        client = AsyncClient(key, clock=virtual.clock)
        ...
        assert virtual.slept == [0.5]
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self.clock = Clock(sleep=self.sleep, monotonic=self.monotonic)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()

    def monotonic(self) -> float:
        return self.now
