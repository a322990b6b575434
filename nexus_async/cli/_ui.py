"""Terminal output of the CLI: rich progress bars on a terminal, plain periodic lines otherwise,
and the mapping of SDK errors to one line on stderr plus an exit code.

Progress goes to stderr, results to stdout (``--json`` makes stdout machine-readable).
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from nexus_async import ConfigurationError, NexusError
from nexus_async.types.operations import Operation
from nexus_async.uploads.asset_session import UploadProgress

if TYPE_CHECKING:
    from nexus_async.uploads.asset_session import UploadSession

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "UploadBar",
    "WaitSpinner",
    "echo_json",
    "fail",
    "format_bytes",
    "report",
    "run",
    "use_rich",
]

T = TypeVar("T")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
# Without a terminal, progress is one plain line on stderr this often (seconds).
PLAIN_INTERVAL = 5.0
# On a terminal, how often the bar looks at the session (rich redraws on its own).
LIVE_INTERVAL = 0.2

PREPARING, UPLOADING, INGESTING = "preparing", "uploading", "ingesting"


def use_rich() -> bool:
    """Live progress (on stderr) only when stderr is a terminal; redirected output stays
    plain."""
    return sys.stderr.isatty()


def format_bytes(size: float) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units, as rich shows them)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover - the loop always returns


def format_seconds(seconds: float) -> str:
    """``75.2`` -> ``"0:01:15"``."""
    return str(timedelta(seconds=max(0, int(seconds))))


def echo_json(data: object) -> None:
    """One JSON document on stdout (``--json``)."""
    typer.echo(json.dumps(data))


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """Print ``error: message`` on stderr; return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def run(
    coro: Coroutine[Any, Any, T],
    *,
    debug: bool,
    interrupted: Callable[[], str] | None = None,
) -> T:
    """Run a command's coroutine; errors become one line on stderr (see :func:`report`).

    Ctrl-C prints ``interrupted`` (or ``interrupted: <what interrupted() says>``) and exits 130.
    """
    try:
        return asyncio.run(coro)
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt:
        detail = interrupted() if interrupted is not None else ""
        typer.echo(f"interrupted: {detail}" if detail else "interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:
        raise report(exc, debug=debug) from None


def report(exc: Exception, *, debug: bool) -> typer.Exit:
    """An SDK or OS error: one line on stderr and exit 1 (a configuration error exit 2); any
    other exception is a bug, reported the same way with a hint. ``--debug`` adds the
    traceback."""
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    if isinstance(exc, (NexusError, OSError)):
        code = EXIT_USAGE if isinstance(exc, ConfigurationError) else EXIT_ERROR
        return fail(f"{type(exc).__name__}: {exc}", code)
    hint = "" if debug else " (run with --debug for the traceback)"
    return fail(f"unexpected {type(exc).__name__}: {exc}{hint}")


def rate_limit_wait_text(progress: UploadProgress) -> str:
    """``waiting for the upload-session limit, N s`` while such a wait is under way, else ""."""
    if progress.rate_limit_wait is None:
        return ""
    return f"waiting for the upload-session limit, {math.ceil(progress.rate_limit_wait)} s"


class _Ticker:
    """Calls ``tick`` every ``interval`` seconds on the running event loop (if any) between
    ``start`` and ``stop``; progress callbacks alone go quiet while nothing changes."""

    def __init__(self, tick: Callable[[], None]) -> None:
        self._tick = tick
        self._handle: asyncio.TimerHandle | None = None
        self._interval = 0.0

    def start(self, interval: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven by hand (tests): no periodic calls
            return
        self._interval = interval
        self._handle = loop.call_later(interval, self._fire)

    def _fire(self) -> None:
        self._handle = asyncio.get_running_loop().call_later(self._interval, self._fire)
        self._tick()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


class _Phased(ProgressColumn):
    """Shows the column of the task's phase (``task.fields["phase"]``), nothing otherwise."""

    def __init__(self, **columns: ProgressColumn) -> None:
        super().__init__()
        self.columns = columns

    def render(self, task: Task) -> RenderableType:
        column = self.columns.get(str(task.fields.get("phase")))
        return column(task) if column is not None else Text("")


class _Spinner(SpinnerColumn):
    """A spinner that keeps spinning whatever the task's completion."""

    def render(self, task: Task) -> RenderableType:
        return self.spinner.render(task.get_time())


class _Elapsed(ProgressColumn):
    """Time since the phase began (``task.fields["since"]``, on the progress clock)."""

    def render(self, task: Task) -> RenderableType:
        since = float(task.fields.get("since", task.get_time()))
        return Text(format_seconds(task.get_time() - since), style="progress.elapsed")


class UploadBar:
    """The ``progress`` callback of an upload session.

    On a terminal (``live``): a spinner while files are found, then a bar whose total is the
    bytes of every file (files, bytes, rate, ETA), then a spinner with the elapsed time while
    the server ingests. Otherwise one plain line on stderr every :data:`PLAIN_INTERVAL`
    seconds (files, bytes, rate), one when every file is sent, and one for each wait for the
    upload-session limit. ``attach(session)`` lets it count the files found and see the
    totals before the first file is sent.
    """

    def __init__(
        self, description: str, *, live: bool | None = None, background: bool = False
    ) -> None:
        self.description = description
        self.live = use_rich() if live is None else live
        self.background = background
        self.last = UploadProgress()
        self.skipped_bytes = 0  # bytes of files skipped on resume (counted in bytes_done)
        self.session: UploadSession | None = None
        self._seen = (0, 0)  # (files_skipped, bytes_done) at the previous call
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._ticker = _Ticker(self.tick)
        self._started = time.monotonic()
        self._phase = PREPARING
        self._phase_since = self._started
        self._sent_after: float | None = None  # seconds from start until every file was sent

    def attach(self, session: UploadSession) -> None:
        """Follow ``session`` (files found so far, totals as soon as they are known)."""
        self.session = session

    def __enter__(self) -> UploadBar:
        self._started = self._phase_since = time.monotonic()
        if self.live:
            self._progress = Progress(
                _Phased(preparing=_Spinner(), ingesting=_Spinner()),
                TextColumn("[bold]{task.description}"),
                _Phased(uploading=BarColumn()),
                TextColumn("{task.fields[files]}"),
                _Phased(uploading=DownloadColumn()),
                _Phased(uploading=TransferSpeedColumn()),
                _Phased(
                    preparing=_Elapsed(), uploading=TimeRemainingColumn(), ingesting=_Elapsed()
                ),
                console=Console(stderr=True),
            )
            self._progress.start()
            self._task = self._progress.add_task(
                PREPARING, total=None, files="", phase=PREPARING, since=self._started
            )
        self._ticker.start(LIVE_INTERVAL if self.live else PLAIN_INTERVAL)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._ticker.stop()
        if self._progress is not None:
            self._progress.stop()

    @property
    def bytes_sent(self) -> int:
        """Bytes actually uploaded so far (skipped files excluded)."""
        return self.last.bytes_done - self.skipped_bytes

    @property
    def elapsed(self) -> float:
        """Seconds since the bar started."""
        return time.monotonic() - self._started

    def rate(self) -> float:
        """Bytes sent per second so far (until every file was sent)."""
        seconds = self._sent_after if self._sent_after is not None else self.elapsed
        return self.bytes_sent / seconds if seconds > 0 else 0.0

    def _current(self) -> UploadProgress:
        # The session's own progress object: its totals are set before the first file is sent.
        return self.session.progress if self.session is not None else self.last

    def _phase_of(self, progress: UploadProgress) -> str:
        if progress.files_total == 0:
            return PREPARING
        if progress.files_done + progress.files_skipped >= progress.files_total:
            return INGESTING
        return UPLOADING

    def __call__(self, progress: UploadProgress) -> None:
        self.last = progress
        skipped, before = self._seen
        if progress.files_skipped > skipped:  # the resume report: skipped files and their bytes
            self.skipped_bytes += progress.bytes_done - before
        self._seen = (progress.files_skipped, progress.bytes_done)
        waiting = rate_limit_wait_text(progress)
        if waiting and self._progress is None:  # a wait is always worth a line
            typer.echo(f"{self.description}: {waiting}", err=True)
        self._show(progress)

    def tick(self) -> None:
        """Called periodically: refresh the bar, or print the plain line."""
        progress = self._current()
        if not self._show(progress) and self._progress is None:
            typer.echo(self.plain_line(progress), err=True)

    def _show(self, progress: UploadProgress) -> bool:
        """Update the bar to ``progress``; True if that printed a plain line."""
        printed = False
        phase = self._phase_of(progress)
        if phase != self._phase:
            self._phase, self._phase_since = phase, time.monotonic()
            if phase == INGESTING:
                self._sent_after = self.elapsed
                if self._progress is None:
                    typer.echo(self.plain_line(progress), err=True)
                    printed = True
        if self._progress is None or self._task is None:
            return printed
        done = progress.files_done + progress.files_skipped
        if phase == PREPARING:
            found = len(self.session) if self.session is not None else 0
            files = f"{found} files found" if found else ""
            description = PREPARING
        elif phase == UPLOADING:
            files = f"{done}/{progress.files_total} files"
            description = self.description
        else:
            files = f"{progress.files_done} files sent ({format_bytes(self.bytes_sent)})"
            description = "sent" if self.background else INGESTING
        self._progress.update(
            self._task,
            total=progress.bytes_total or None,
            completed=progress.bytes_done,
            files=files,
            description=rate_limit_wait_text(progress) or description,
            phase=phase,
            since=self._phase_since,
        )
        return printed

    def plain_line(self, progress: UploadProgress) -> str:
        """The line printed without a terminal, e.g. ``uploading: 120/300 files, 0.5 MB of
        1.2 MB, 410.2 kB/s``."""
        phase = self._phase_of(progress)
        if phase == PREPARING:
            found = len(self.session) if self.session is not None else 0
            found_text = f"{found} files found" if found else "finding the files"
            return f"{self.description}: preparing, {found_text}"
        done = progress.files_done + progress.files_skipped
        line = (
            f"{self.description}: {done}/{progress.files_total} files, "
            f"{format_bytes(progress.bytes_done)} of {format_bytes(progress.bytes_total)}, "
            f"{format_bytes(self.rate())}/s"
        )
        if phase == INGESTING and not self.background:
            since = time.monotonic() - self._phase_since
            line += f"; every file sent, the server is ingesting them ({since:.0f} s)"
        return line

    def summary(self, seconds: float) -> dict[str, Any]:
        """What was uploaded: files, bytes, skipped, seconds, bytes_per_second."""
        return {
            "files": self.last.files_done,
            "bytes": self.bytes_sent,
            "skipped": self.last.files_skipped,
            "seconds": round(seconds, 3),
            "bytes_per_second": round(self.bytes_sent / seconds if seconds else 0.0, 1),
        }

    def interrupted(self) -> str:
        """What to tell the user after Ctrl-C: how many files were sent, how to go on ("" before
        any file was found)."""
        progress = self._current()
        total = progress.files_total or (len(self.session) if self.session is not None else 0)
        if not total:
            return ""  # nothing to upload was found yet: nothing was sent
        if total and progress.files_done + progress.files_skipped >= total:
            ops = self.session.get_operation_ids() if self.session is not None else []
            follow = f"; follow it with: nexus-async operations wait {ops[0]}" if ops else ""
            return f"all {total} files were sent and the server goes on ingesting them{follow}"
        return (
            f"{progress.files_done} of {total} files were sent; run the same command with "
            "--resume to upload the rest (files the project already holds are skipped)"
        )


class WaitSpinner:
    """A spinner with the elapsed time while something is processed (on a terminal);
    otherwise a plain line on stderr every :data:`PLAIN_INTERVAL` seconds."""

    def __init__(self, description: str, *, live: bool | None = None) -> None:
        self.description = description
        self.live = use_rich() if live is None else live
        self.text = ""
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._ticker = _Ticker(self.tick)
        self._started = time.monotonic()

    def __enter__(self) -> WaitSpinner:
        self._started = time.monotonic()
        if self.live:
            self._progress = Progress(
                _Spinner(),
                TextColumn("[bold]{task.description}"),
                _Elapsed(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.description, total=None, since=self._progress.get_time()
            )
        else:
            self._ticker.start(PLAIN_INTERVAL)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._ticker.stop()
        if self._progress is not None:
            self._progress.stop()

    def tick(self) -> None:
        """The periodic plain line, e.g. ``exporting: Running (...), 15 s``."""
        text = f"{self.text}, " if self.text else ""
        typer.echo(f"{self.description}: {text}{time.monotonic() - self._started:.0f} s", err=True)

    def update(self, text: str) -> None:
        """Show ``text`` after the description."""
        self.text = text
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=f"{self.description}: {text}")

    def on_poll(self, operation: Operation) -> None:
        """The ``on_poll`` callback of ``operations.wait_until_done``."""
        counts = operation.status.progress.with_status
        self.update(
            f"{operation.status.overview} ({counts.Finished} finished, {counts.Running} "
            f"running, {counts.Queued} queued)"
        )


@contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    elapsed = [0.0]
    start = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - start
