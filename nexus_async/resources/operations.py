"""``project.operations``: read and await long-running operations (nexus-api.md §7)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from typing_extensions import Unpack

from nexus_async._concurrency import map_bounded
from nexus_async._constants import DEFAULT_OPERATION_TIMEOUT
from nexus_async._transport import RequestOptions
from nexus_async.polling import PollSchedule, poll_until_done
from nexus_async.resources._base import ProjectResource, require_id
from nexus_async.types.operations import Operation, OperationStatusOverview

__all__ = ["Operations"]

_FINISHED = (OperationStatusOverview.FINISHED.value,)
_CANCELLED = (OperationStatusOverview.CANCELLED.value,)
_ERRORED = OperationStatusOverview.ERRORED.value


class Operations(ProjectResource):
    """Operations of a project. Example::

    op = await project.operations.wait_until_done(op_id, timeout=600)
    print(op.status.overview)  # "Finished"; Errored/Cancelled/timeout raise
    """

    async def get(self, op_id: str, **options: Unpack[RequestOptions]) -> Operation:
        """The current state of an operation."""
        require_id(op_id, "op_id")
        return await self._transport.request(
            "GET", self._path("operations", op_id), cast_to=Operation, **options
        )

    async def wait_until_done(
        self,
        op_id: str,
        timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        raise_exception_if: OperationStatusOverview | str = OperationStatusOverview.ERRORED,
        *,
        schedule: PollSchedule | None = None,
        on_poll: Callable[[Operation], None] | None = None,
    ) -> Operation:
        """Wait until the operation is ``Finished`` and return it.

        Raises OperationFailedError when it ends ``Errored`` (or reaches the state named by
        ``raise_exception_if``), OperationCancelledError when ``Cancelled``, and
        OperationTimeoutError after ``timeout`` seconds (None waits without limit).
        """
        require_id(op_id, "op_id")
        raise_on = OperationStatusOverview(raise_exception_if).value
        return await poll_until_done(
            lambda: self.get(op_id),
            state_of=lambda op: op.status.overview,
            succeeded=_FINISHED,
            failed={_ERRORED, raise_on},
            cancelled=_CANCELLED,
            resource_id=op_id,
            timeout=timeout,
            schedule=schedule,
            on_poll=on_poll,
            sleep=self._transport.clock.sleep,
        )

    async def wait_all(
        self,
        op_ids: Iterable[str],
        timeout: float | None = DEFAULT_OPERATION_TIMEOUT,
        *,
        schedule: PollSchedule | None = None,
    ) -> list[Operation]:
        """Wait for several operations at once; returns them in the order given.

        The first failure cancels the other waits and is raised.
        """
        ids = [require_id(op_id, "op_id") for op_id in op_ids]
        return await map_bounded(
            ids,
            lambda op_id: self.wait_until_done(op_id, timeout, schedule=schedule),
            limit=max(len(ids), 1),
        )
