"""Operations (upload ingestion and exports), evaluated on read from stored timestamps."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_async.emulator.state.base import owned_by
from nexus_async.emulator.state.lifecycle import (
    MESSAGES,
    STATES,
    WorkItem,
    count_states,
    finished_at,
    item_state,
    latest_transition,
    overview,
    timeline_counts,
)
from nexus_async.emulator.state.models import Operation, Project
from nexus_async.emulator.state.uploads import UploadMixin


@dataclass(frozen=True)
class OperationView:
    """An operation's state at one instant."""

    operation: Operation
    overview: str
    message: str
    counts: dict[str, int]
    update_date: int


class OperationMixin(UploadMixin):
    """Derives operation state from upload sessions and exports."""

    def get_operation(self, project: Project, op_id: str) -> Operation:
        """One operation of the project, else 404."""
        return owned_by(project, self.store.operations, op_id, "Operation")

    def view_operation(self, operation: Operation) -> OperationView:
        """Evaluate the operation's state now (O(log n) in the number of files)."""
        session = self.store.upload_sessions.get(operation.source_id)
        if session is None:
            return self._view_export(operation)
        now = self.now()
        timing = self.config.timing
        queued, running, finished = timeline_counts(session.arrivals, now, timing)
        pending = len(session.items) - session.received
        waiting = item_state(
            WorkItem(None),
            now,
            timing,
            cancelled_at=session.cancelled_at,
            expires_at=session.expires_at,
        )
        counts = dict.fromkeys(STATES, 0)
        counts.update(Queued=queued, Running=running, Finished=finished)
        counts[waiting] += pending
        cancelled = session.cancelled_at is not None and now >= session.cancelled_at
        state = overview(counts, cancelled=cancelled)
        moments = [operation.created_at, latest_transition(session.arrivals, now, timing)]
        moments += [session.cancelled_at, session.expires_at]
        return OperationView(
            operation, state, MESSAGES[state], counts, _update_date(operation, moments, now)
        )

    def _view_export(self, operation: Operation) -> OperationView:
        now = self.now()
        timing = self.config.timing
        export = self.store.exports[operation.source_id]
        item = WorkItem(export.created_at, export.errored)
        counts = count_states([item_state(item, now, timing)])
        state = overview(counts, cancelled=False)
        moments: list[int | None] = [operation.created_at]
        moments += [export.created_at, export.created_at + timing.queue_ms]
        moments.append(finished_at(export.created_at, timing))
        return OperationView(
            operation, state, MESSAGES[state], counts, _update_date(operation, moments, now)
        )


def _update_date(operation: Operation, moments: list[int | None], now: int) -> int:
    """The latest of ``moments`` that is not in the future (creation while before it)."""
    if now < operation.created_at:
        return operation.created_at
    return max(m for m in moments if m is not None and m <= now)
