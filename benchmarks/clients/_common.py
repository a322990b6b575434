"""Stdlib-only helpers shared by the client processes: the spec, the measurements, the output.

A client is started as ``python clients/<name>.py '<spec JSON>'``. It measures its workload
(wall time, CPU seconds of the whole process, RSS before it and the process's peak RSS) and
prints one JSON line: the spec's workload result merged with those measurements.

Spec keys: ``workload`` (``upload`` or ``import``), ``base_url``, ``secret_key``,
``project_id``, ``paths`` (files or folders to upload), ``concurrency``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

MIB = 1024 * 1024
_marks: dict[str, float] = {}


def read_spec() -> dict[str, Any]:
    """The spec passed as the first command-line argument."""
    spec: dict[str, Any] = json.loads(sys.argv[1])
    return spec


def _status_mib(field: str) -> float:
    """A ``/proc/self/status`` memory field (reported in KiB), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def current_rss_mib() -> float:
    """Resident set size of this process now, in MiB."""
    return _status_mib("VmRSS")


def peak_rss_mib() -> float:
    """Peak resident set size of this process image so far, in MiB.

    ``VmHWM``, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over ``execve`` from the
    (v)forked parent, so a child of a large orchestrator would report the parent's peak.
    """
    return _status_mib("VmHWM")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_import(import_modules: Callable[[], object]) -> dict[str, Any]:
    """Time a cold import in this fresh process; RSS before and after it."""
    rss_before = current_rss_mib()
    start = time.perf_counter()
    import_modules()
    seconds = time.perf_counter() - start
    return {"import_s": seconds, "rss_before_mib": rss_before, "rss_after_mib": current_rss_mib()}


def measure_upload(upload: Callable[[], list[str]]) -> dict[str, Any]:
    """Run ``upload`` (returns the operation ids) and measure it."""
    rss_before = current_rss_mib()
    cpu_before = cpu_seconds()
    start = time.perf_counter()
    op_ids = upload()
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "t_return": time.time(),
        "cpu_s": cpu_seconds() - cpu_before,
        "rss_before_mib": rss_before,
        "peak_rss_mib": peak_rss_mib(),
        "op_ids": op_ids,
        **_marks,
    }


def mark_first(name: str) -> None:
    """Record the wall-clock time (``time.time()``) of the first call with ``name``; it goes
    into the result. ``t_add_path``: the client is about to look at its first path."""
    _marks.setdefault(name, time.time())


def emit(result: dict[str, Any]) -> None:
    """Print the result line the orchestrator reads."""
    print(json.dumps(result), flush=True)
