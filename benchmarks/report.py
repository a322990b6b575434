"""Medians, pair-by-pair ratios and the markdown tables of a benchmark run."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable

from benchmarks.workloads import Record

OURS, OFFICIAL, FLOOR = "nexus_async", "official", "floor"


def _median(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _groups(records: list[Record]) -> dict[tuple[str, str], list[Record]]:
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for record in records:
        groups[record.workload, record.variant].append(record)
    return groups


def median_of(records: list[Record], client: str, key: str) -> float | None:
    """Median of ``key`` over the verified runs of ``client``."""
    return _median(
        r.values[key] for r in records if r.client == client and r.verified and key in r.values
    )


def paired_ratio(
    records: list[Record], other: str, key: str, ratio: Callable[[float, float], float]
) -> float | None:
    """Median over runs of ``ratio(ours, other)``, pairing the runs with the same index."""
    by_run: dict[int, dict[str, float]] = defaultdict(dict)
    for record in records:
        if record.verified and key in record.values:
            by_run[record.run][record.client] = record.values[key]
    return _median(
        ratio(pair[OURS], pair[other]) for pair in by_run.values() if OURS in pair and other in pair
    )


def _verified(records: list[Record], client: str) -> str:
    mine = [r for r in records if r.client == client]
    return f"{sum(r.verified for r in mine)}/{len(mine)}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _clients(records: list[Record]) -> list[str]:
    order = [OURS, OFFICIAL, FLOOR]
    present = {r.client for r in records}
    return [c for c in order if c in present]


def throughput_tables(records: list[Record]) -> list[str]:
    """P1-P3: medians per client, then the pair-by-pair ratios."""
    rows, ratio_rows = [], []
    for (workload, variant), group in sorted(_groups(records).items()):
        if workload not in ("P1", "P2", "P3"):
            continue
        for client in _clients(group):
            rows.append(
                [
                    workload + variant,
                    client,
                    _fmt(median_of(group, client, "wall_s")),
                    _fmt(median_of(group, client, "files_per_s"), 1),
                    _fmt(median_of(group, client, "mb_per_s"), 1),
                    _fmt(median_of(group, client, "cpu_ms_per_file")),
                    _fmt(median_of(group, client, "cpu_s")),
                    _fmt(median_of(group, client, "emulator_cpu_ms_per_file")),
                    _fmt(median_of(group, client, "peak_rss_mib"), 0),
                    _fmt(median_of(group, client, "rss_growth_mib"), 0),
                    _verified(group, client),
                ]
            )
        throughput = [
            paired_ratio(group, other, "files_per_s", lambda a, b: a / b)
            for other in (OFFICIAL, FLOOR)
        ]
        cpu = [
            paired_ratio(group, other, "cpu_s", lambda a, b: a / b) for other in (OFFICIAL, FLOOR)
        ]
        ratio_rows.append(
            [workload + variant, *(_fmt(r) + "x" for r in throughput), *(_fmt(r) for r in cpu)]
        )
    header = ["Workload", "Client", "Wall s", "Files/s", "MB/s", "Client CPU ms/file", "CPU s"]
    header += ["Emulator CPU ms/file", "Peak RSS MiB", "RSS growth MiB", "Verified runs"]
    lines = _table(header, rows)
    lines += ["", "Pair-by-pair ratios (median over runs of the same index):", ""]
    ratio_header = ["Workload", "Throughput ours/official", "Throughput ours/floor"]
    lines += _table([*ratio_header, "CPU ours/official", "CPU ours/floor"], ratio_rows)
    return lines


def latency_table(records: list[Record]) -> list[str]:
    """P4: lag from the operation finishing to the client returning, and polls made."""
    rows = []
    groups = sorted(
        ((v, g) for (w, v), g in _groups(records).items() if w == "P4"),
        key=lambda item: float(item[0].split()[0]),
    )
    for variant, group in groups:
        for client in _clients(group):
            rows.append(
                [
                    variant.strip(),
                    client,
                    _fmt(median_of(group, client, "lag_s"), 3),
                    _fmt(median_of(group, client, "operation_requests"), 0),
                    _verified(group, client),
                ]
            )
    header = ["Operation finishes after", "Client", "Median lag s", "Operation GETs"]
    return _table([*header, "Verified runs"], rows)


def import_table(records: list[Record]) -> list[str]:
    """P5: cold import time and RSS."""
    group = [r for r in records if r.workload == "P5"]
    rows = [
        [
            client,
            _fmt((median_of(group, client, "import_s") or 0) * 1000, 0),
            _fmt(median_of(group, client, "rss_mib"), 1),
            _fmt(median_of(group, client, "import_rss_mib"), 1),
            _verified(group, client),
        ]
        for client in _clients(group)
    ]
    ratio = paired_ratio(group, OFFICIAL, "import_s", lambda a, b: a / b)
    header = ["Client", "Import ms", "RSS after import MiB", "RSS added by import MiB", "Runs"]
    return [*_table(header, rows), "", f"Import time ours/official (paired): {_fmt(ratio)}"]


def many_files_table(records: list[Record]) -> list[str]:
    """P7: one row per run (nexus_async only), in the order they ran."""
    rows = []
    for r in (r for r in records if r.workload == "P7"):
        v = r.values
        ceiling = v.get("ceiling_files_per_s")
        first_put = v.get("first_put_s")
        cpu_per_file = v.get("cpu_ms_per_file")
        rows.append(
            [
                r.variant.strip(),
                _fmt(v.get("wall_s"), 1),
                _fmt(v.get("files_per_s"), 1),
                "-" if ceiling is None else f"{ceiling:,.1f} ({v['of_ceiling']:.2f}x)",
                _fmt(cpu_per_file),
                _fmt(None if not cpu_per_file else 1000 / cpu_per_file, 0),
                _fmt(v.get("emulator_cpu_ms_per_file")),
                "-" if first_put is None else f"{first_put:.2f}",
                _fmt(v.get("rss_growth_mib"), 0),
                f"{v.get('sessions', '-')} ({v.get('sessions_refused', '-')})",
                "verified" if r.verified else f"FAILED: {r.detail}",
            ]
        )
    header = ["Files, upload-session limit", "Wall s", "Files/s", "Ceiling files/s (achieved)"]
    header += ["Client CPU ms/file", "One-core bound files/s", "Emulator CPU ms/file"]
    header += ["First PUT s", "RSS growth MiB"]
    return _table([*header, "Sessions (429s)", "Check"], rows)


def many_files_section(records: list[Record]) -> list[str]:
    """The P7 heading and table, or nothing when P7 did not run."""
    if not any(r.workload == "P7" for r in records):
        return []
    heading = "### Many small files, upload-session limit on (P7, nexus_async only)"
    return [heading, "", *many_files_table(records), ""]


def per_run_table(records: list[Record]) -> list[str]:
    """Every run: order, headline number, verification."""
    rows = []
    for r in records:
        key = next((k for k in ("wall_s", "lag_s", "import_s") if k in r.values), None)
        value = f"{key}={r.values[key]:.3f}" if key else "-"
        check = "verified" if r.verified else f"FAILED: {r.detail}"
        rows.append(
            [r.workload + r.variant, str(r.run), str(r.position + 1), r.client, value, check]
        )
    return _table(["Workload", "Run", "Order", "Client", "Result", "Check"], rows)


def markdown(records: list[Record]) -> str:
    """All tables."""
    parts = [
        "### Uploads (P1-P3): medians of verified runs",
        "",
        *throughput_tables(records),
        "",
        "### Operation completion latency (P4)",
        "",
        *latency_table(records),
        "",
        "### Cold import (P5)",
        "",
        *import_table(records),
        "",
        *(many_files_section(records)),
        "### Every run",
        "",
        *per_run_table(records),
    ]
    return "\n".join(parts) + "\n"
