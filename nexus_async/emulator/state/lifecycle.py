"""Lifecycle rules: states are a pure function of stored timestamps and the current time."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from nexus_async.emulator.config import TimingConfig

STATES = ("Queued", "Running", "Finished", "Cancelled", "Errored")


@dataclass(frozen=True)
class WorkItem:
    """One unit of asynchronous work: when it became ready, and whether it fails."""

    ready_at: int | None
    errored: bool = False


def item_state(
    item: WorkItem,
    now: int,
    timing: TimingConfig,
    *,
    cancelled_at: int | None = None,
    expires_at: int | None = None,
) -> str:
    """Queued -> Running -> Finished/Errored; Cancelled/Errored if never ready."""
    if item.ready_at is not None:
        if now < item.ready_at + timing.queue_ms:
            return "Queued"
        if now < finished_at(item.ready_at, timing):
            return "Running"
        return "Errored" if item.errored else "Finished"
    if cancelled_at is not None and now >= cancelled_at:
        return "Cancelled"
    if expires_at is not None and now >= expires_at:
        return "Errored"
    return "Queued"


def finished_at(ready_at: int, timing: TimingConfig) -> int:
    """When an item that became ready at ``ready_at`` reaches its terminal state."""
    return ready_at + timing.queue_ms + timing.processing_ms


def timeline_counts(arrivals: list[int], now: int, timing: TimingConfig) -> tuple[int, int, int]:
    """(Queued, Running, Finished) of the items that became ready at the sorted ``arrivals``;
    O(log n): the same answer as ``item_state`` on each of them."""
    finished = bisect_right(arrivals, now - timing.queue_ms - timing.processing_ms)
    started = bisect_right(arrivals, now - timing.queue_ms)
    return len(arrivals) - started, started - finished, finished


def latest_transition(arrivals: list[int], now: int, timing: TimingConfig) -> int | None:
    """The latest moment <= ``now`` at which an item of ``arrivals`` changed state, if any."""
    moments = []
    for offset in (0, timing.queue_ms, timing.queue_ms + timing.processing_ms):
        index = bisect_right(arrivals, now - offset)
        if index:
            moments.append(arrivals[index - 1] + offset)
    return max(moments, default=None)


def count_states(states: list[str]) -> dict[str, int]:
    """Counters of every state (all five keys present)."""
    counts = dict.fromkeys(STATES, 0)
    for state in states:
        counts[state] += 1
    return counts


def overview(counts: dict[str, int], *, cancelled: bool) -> str:
    """The overall state of an operation from its item counters."""
    if cancelled:
        return "Cancelled"
    if counts["Queued"] or counts["Running"]:
        started = counts["Running"] + counts["Finished"] + counts["Errored"]
        return "Running" if started else "Queued"
    if counts["Errored"]:
        return "Errored"
    return "Finished"


MESSAGES = {
    "Queued": "Operation queued",
    "Running": "Operation running",
    "Finished": "Operation finished",
    "Cancelled": "Operation cancelled",
    "Errored": "Operation errored",
}
