"""Operations (upload ingestion and exports), evaluated on read from stored timestamps."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_async.emulator.state.base import owned_by
from nexus_async.emulator.state.lifecycle import (
    MESSAGES,
    WorkItem,
    count_states,
    finished_at,
    item_state,
    overview,
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
        """Evaluate the operation's state now."""
        now = self.now()
        timing = self.config.timing
        cancelled_at: int | None = None
        expires_at: int | None = None
        session = self.store.upload_sessions.get(operation.source_id)
        if session is not None:
            items = [WorkItem(item.received_at) for item in session.items]
            cancelled_at, expires_at = session.cancelled_at, session.expires_at
        else:
            export = self.store.exports[operation.source_id]
            items = [WorkItem(export.created_at, export.errored)]
        states = [
            item_state(i, now, timing, cancelled_at=cancelled_at, expires_at=expires_at)
            for i in items
        ]
        counts = count_states(states)
        cancelled = cancelled_at is not None and now >= cancelled_at
        state = overview(counts, cancelled=cancelled)
        moments = [operation.created_at]
        for item in items:
            if item.ready_at is not None:
                moments += [
                    item.ready_at,
                    item.ready_at + timing.queue_ms,
                    finished_at(item.ready_at, timing),
                ]
        moments += [m for m in (cancelled_at, expires_at) if m is not None]
        update_date = (
            max(m for m in moments if m <= now)
            if now >= operation.created_at
            else (operation.created_at)
        )
        return OperationView(operation, state, MESSAGES[state], counts, update_date)
