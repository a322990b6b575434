"""Terminal output of the CLI: rich progress bars on a TTY, plain periodic lines otherwise,
and the mapping of SDK errors to one line on stderr plus an exit code."""

from __future__ import annotations

import asyncio
import math
import sys
import time
import traceback
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from nexus_async import ConfigurationError, NexusError
from nexus_async.types.operations import Operation
from nexus_async.uploads.asset_session import UploadProgress

__all__ = [
    "EXIT_ERROR",
    "EXIT_USAGE",
    "UploadBar",
    "WaitSpinner",
    "fail",
    "format_bytes",
    "report",
    "run",
    "use_rich",
]

T = TypeVar("T")

EXIT_ERROR = 1
EXIT_USAGE = 2
# Without a terminal, progress is one plain line on stderr at most this often (seconds).
PLAIN_INTERVAL = 5.0


def use_rich() -> bool:
    """Live progress bars only when stdout is a terminal; redirected output stays clean."""
    return sys.stdout.isatty()


def format_bytes(size: float) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units, as rich shows them)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover - the loop always returns


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """Print ``error: message`` on stderr; return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def run(coro: Coroutine[Any, Any, T], *, debug: bool) -> T:
    """Run a command's coroutine; errors become one line on stderr (see :func:`report`)."""
    try:
        return asyncio.run(coro)
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None
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


class UploadBar:
    """The ``progress`` callback of an upload session: files and bytes, rate, ETA."""

    def __init__(self, description: str, *, live: bool | None = None) -> None:
        self.description = description
        self.live = use_rich() if live is None else live
        self.last = UploadProgress()
        self.skipped_bytes = 0  # bytes of files skipped on resume (counted in bytes_done)
        self._seen = (0, 0)  # (files_skipped, bytes_done) at the previous call
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_line = 0.0

    def __enter__(self) -> UploadBar:
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[files]}"),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(),
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=None, files="")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    @property
    def bytes_sent(self) -> int:
        """Bytes actually uploaded so far (skipped files excluded)."""
        return self.last.bytes_done - self.skipped_bytes

    def __call__(self, progress: UploadProgress) -> None:
        self.last = progress
        skipped, before = self._seen
        if progress.files_skipped > skipped:  # the resume report: skipped files and their bytes
            self.skipped_bytes += progress.bytes_done - before
        self._seen = (progress.files_skipped, progress.bytes_done)
        done = progress.files_done + progress.files_skipped
        files = f"{done}/{progress.files_total} files"
        waiting = rate_limit_wait_text(progress)
        if self._progress is not None and self._task is not None:
            finished = done >= progress.files_total
            self._progress.update(
                self._task,
                total=progress.bytes_total,
                completed=progress.bytes_total if finished else progress.bytes_done,
                files=files,
                description=waiting or ("ingesting" if finished else self.description),
            )
            return
        if waiting:  # a wait is always worth a line, whatever the interval
            typer.echo(f"{self.description}: {waiting}", err=True)
            return
        now = time.monotonic()
        if now - self._last_line >= PLAIN_INTERVAL:
            self._last_line = now
            sent = f"{format_bytes(progress.bytes_done)}/{format_bytes(progress.bytes_total)}"
            typer.echo(f"{self.description}: {files}, {sent}", err=True)


class WaitSpinner:
    """A spinner with the elapsed time while something is processed (TTY only)."""

    def __init__(self, description: str, *, live: bool | None = None) -> None:
        self.description = description
        self.live = use_rich() if live is None else live
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> WaitSpinner:
        if self.live:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                TimeElapsedColumn(),
                console=Console(),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=None)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, text: str) -> None:
        """Show ``text`` after the description."""
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
