"""The workloads P1-P5 and P7: each run resets the emulator, runs one client, verifies the result.

Every upload run counts only if the emulator then holds exactly the expected assets (names and
sizes through the API), its storage saw no checksum or size mismatch, and the bytes of a sample
of assets (every asset of P3) downloaded back have the expected CRC-32C.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import google_crc32c
import httpx

from benchmarks.measure import (
    ClientFailedError,
    ClientProcess,
    Pinning,
    ProcessResult,
    process_tree_cpu_s,
    run_client,
)
from nexus_async.emulator import EmulatorServer
from nexus_async.emulator.config import EmulatorConfig, RateLimitConfig

MIB = 1024 * 1024
VERIFY_SAMPLE = 16
OPERATION_ROUTE_HINT = "operation"
SESSION_CREATE_ROUTE = "upload_session_create"
OURS = "nexus_async"
SESSIONS_PER_WINDOW = RateLimitConfig().max_sessions
FILES_PER_SESSION = EmulatorConfig().max_items_per_session


def rate_limit_ceiling(window_s: float) -> float:
    """Files/s the upload-session limit allows at most in the long run: full sessions only."""
    return SESSIONS_PER_WINDOW * FILES_PER_SESSION / window_s


@dataclass
class Settings:
    """Sizes and repetitions; ``--quick`` shrinks them."""

    runs: int = 3
    big_runs: int = 3
    images: int = 2000
    image_size: int = 64 * 1024
    big_size: int = 2 * 1024 * MIB
    latency_ms: int = 50
    durations: tuple[float, ...] = (1.0, 5.0, 30.0)
    import_runs: int = 5
    concurrency: int = 16
    part_concurrency: int = 4
    multipart_threshold: int = 1024 * MIB
    floor_poll_interval: float = 0.1
    client_timeout: float = 900.0
    many_files: int = 200_000
    many_files_small: int = 50_000
    many_file_size: int = 4 * 1024
    session_window_s: float = 200.0
    many_files_timeout: float = 3600.0
    first_put_poll_s: float = 0.02


@dataclass
class Record:
    """One client run of one workload."""

    workload: str
    variant: str
    run: int
    client: str
    position: int
    values: dict[str, Any] = field(default_factory=dict)
    verified: bool = True
    detail: str = ""


def alternating(clients: list[ClientProcess], run: int) -> list[ClientProcess]:
    """The clients rotated by ``run``, so each goes first, second and last in turn."""
    shift = run % len(clients)
    return clients[shift:] + clients[:shift]


class Bench:
    """Runs workloads against one emulator server with the three clients."""

    def __init__(
        self,
        server: EmulatorServer,
        clients: list[ClientProcess],
        settings: Settings,
        pinning: Pinning | None = None,
    ) -> None:
        self.server = server
        self.clients = clients
        self.settings = settings
        self.pinning = pinning or Pinning()
        self.records: list[Record] = []

    # --- emulator -------------------------------------------------------------------------

    def _fresh_project(
        self,
        *,
        storage_latency_ms: int = 0,
        processing_ms: int = 0,
        server: EmulatorServer | None = None,
    ) -> Any:
        control = (server or self.server).control
        ids = control.reset()
        control.set_timing(0, processing_ms)
        if storage_latency_ms:
            control.add_fault({"route": "storage", "latency_ms": storage_latency_ms})
        return ids

    def _api(self, ids: dict[str, Any], server: EmulatorServer | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=(server or self.server).base_url,
            headers={"Secret-Key": ids["secret_key"]},
            timeout=httpx.Timeout(120.0),
        )

    def _assets(self, api: httpx.Client, project_id: str) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 1000}
        for _ in range(10_000):
            page = api.get(f"/projects/{project_id}/assets", params=params)
            page.raise_for_status()
            body = page.json()
            yield from body["data"]
            if not body.get("nextPage"):
                return
            params["page"] = body["nextPage"]

    def _verify(
        self,
        ids: dict[str, Any],
        expected: dict[str, tuple[int, int]],
        download_all: bool,
        server: EmulatorServer | None = None,
    ) -> str:
        """'' if the emulator holds exactly the expected assets, else what is wrong."""
        stats = (server or self.server).control.stats()["storage"]
        if stats.get("checksum_failures") or stats.get("size_mismatches"):
            return f"storage mismatches: {stats}"
        with self._api(ids, server) as api:
            assets = {a["filename"]: a for a in self._assets(api, ids["project_id"])}
            if set(assets) != set(expected):
                return f"{len(assets)} assets, {len(set(assets) ^ set(expected))} names differ"
            wrong = [n for n, a in assets.items() if a["metadata"]["fileSize"] != expected[n][0]]
            if wrong:
                return f"wrong size: {wrong[:3]}"
            names = sorted(expected)
            sample = names if download_all else random.sample(names, min(VERIFY_SAMPLE, len(names)))
            for name in sample:
                crc = 0
                with api.stream("GET", assets[name]["url"]) as response:
                    response.raise_for_status()
                    for chunk in response.iter_bytes(4 * MIB):
                        crc = int(google_crc32c.extend(crc, chunk))
                if crc != expected[name][1]:
                    return f"CRC-32C of the stored {name} differs"
        return ""

    def _spec(
        self,
        ids: dict[str, Any],
        workload: str,
        paths: list[Path],
        server: EmulatorServer | None = None,
    ) -> dict[str, Any]:
        settings = self.settings
        return {
            "workload": workload,
            "base_url": (server or self.server).base_url,
            "secret_key": ids["secret_key"],
            "project_id": ids["project_id"],
            "paths": [str(p) for p in paths],
            "concurrency": settings.concurrency,
            "part_concurrency": settings.part_concurrency,
            "multipart_threshold": settings.multipart_threshold,
            "poll_interval": settings.floor_poll_interval,
        }

    def _run(
        self,
        client: ClientProcess,
        spec: dict[str, Any],
        timeout: float,
        server: EmulatorServer | None = None,
    ) -> tuple[ProcessResult, float]:
        """Run ``client`` on its core; (its result, the emulator's CPU seconds meanwhile)."""
        process = (server or self.server)._process
        before = process_tree_cpu_s(process.pid) if process is not None else 0.0
        result = run_client(client, spec, timeout, self.pinning.client)
        after = process_tree_cpu_s(process.pid) if process is not None else 0.0
        return result, after - before

    @staticmethod
    def _upload_values(
        result: ProcessResult, emulator_cpu_s: float, files: int, total: int
    ) -> dict[str, Any]:
        report = result.report
        wall = report["wall_s"]
        return {
            "wall_s": wall,
            "files_per_s": files / wall,
            "mb_per_s": total / MIB / wall,
            "cpu_s": report["cpu_s"],
            "cpu_ms_per_file": report["cpu_s"] * 1000 / files,
            "emulator_cpu_s": emulator_cpu_s,
            "emulator_cpu_ms_per_file": emulator_cpu_s * 1000 / files,
            "peak_rss_mib": report["peak_rss_mib"],
            "rss_growth_mib": report["peak_rss_mib"] - report["rss_before_mib"],
            "process_cpu_s": result.process_cpu_s,
        }

    def _log(self, record: Record) -> None:
        values = ", ".join(
            f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
            for k, v in record.values.items()
            if not isinstance(v, list | dict)
        )
        status = "ok" if record.verified else f"NOT VERIFIED ({record.detail})"
        print(
            f"  {record.workload}{record.variant} run {record.run} {record.client}: "
            f"{values} [{status}]",
            flush=True,
        )

    # --- workloads ------------------------------------------------------------------------

    def upload(
        self,
        workload: str,
        paths: list[Path],
        expected: dict[str, tuple[int, int]],
        *,
        runs: int,
        storage_latency_ms: int = 0,
    ) -> None:
        """P1-P3: upload ``paths`` (foreground, instant ingestion) with every client."""
        files, total = len(expected), sum(size for size, _ in expected.values())
        for run in range(runs):
            for position, client in enumerate(alternating(self.clients, run)):
                ids = self._fresh_project(storage_latency_ms=storage_latency_ms)
                record = Record(workload, "", run, client.name, position)
                try:
                    result, emulator_cpu_s = self._run(
                        client, self._spec(ids, "upload", paths), self.settings.client_timeout
                    )
                except ClientFailedError as exc:
                    record.verified, record.detail = False, str(exc)
                else:
                    record.values = self._upload_values(result, emulator_cpu_s, files, total)
                    record.detail = self._verify(ids, expected, download_all=files == 1)
                    record.verified = not record.detail
                self.records.append(record)
                self._log(record)

    def completion_latency(self, image: Path) -> None:
        """P4: one file, an operation that finishes ``d`` s after the file arrives."""
        expected = self._expected_one(image)
        for duration in self.settings.durations:
            for run in range(self.settings.runs):
                for position, client in enumerate(alternating(self.clients, run)):
                    ids = self._fresh_project(processing_ms=int(duration * 1000))
                    variant = f" {duration:g} s"
                    record = Record("P4", variant, run, client.name, position)
                    try:
                        result, _ = self._run(
                            client, self._spec(ids, "upload", [image]), self.settings.client_timeout
                        )
                    except ClientFailedError as exc:
                        record.verified, record.detail = False, str(exc)
                        self.records.append(record)
                        self._log(record)
                        continue
                    requests = self.server.control.stats()["requests"]
                    polls = sum(n for r, n in requests.items() if OPERATION_ROUTE_HINT in r)
                    op_ids = result.report["op_ids"]
                    with self._api(ids) as api:
                        operation = api.get(f"/projects/{ids['project_id']}/operations/{op_ids[0]}")
                        operation.raise_for_status()
                        finished = operation.json()["updateDate"] / 1000
                    record.values = {
                        "lag_s": result.report["t_return"] - finished,
                        "operation_requests": polls,
                        "wall_s": result.report["wall_s"],
                    }
                    record.detail = self._verify(ids, expected, download_all=True)
                    record.verified = not record.detail
                    self.records.append(record)
                    self._log(record)

    @staticmethod
    def _expected_one(path: Path) -> dict[str, tuple[int, int]]:
        data = path.read_bytes()
        return {path.name: (len(data), int(google_crc32c.value(data)))}

    def cold_import(self) -> None:
        """P5: import time and RSS of each client's library in a fresh process."""
        for run in range(self.settings.import_runs):
            for position, client in enumerate(alternating(self.clients, run)):
                record = Record("P5", "", run, client.name, position)
                try:
                    spec = {"workload": "import"}
                    report = run_client(client, spec, 120.0, self.pinning.client).report
                except ClientFailedError as exc:
                    record.verified, record.detail = False, str(exc)
                else:
                    record.values = {
                        "import_s": report["import_s"],
                        "rss_mib": report["rss_after_mib"],
                        "import_rss_mib": report["rss_after_mib"] - report["rss_before_mib"],
                    }
                self.records.append(record)
                self._log(record)

    def many_files(
        self,
        limited: EmulatorServer,
        small: tuple[list[Path], dict[str, tuple[int, int]]],
        full: tuple[list[Path], dict[str, tuple[int, int]]],
    ) -> None:
        """P7: many small files with nexus_async only, one run each, the longest first.

        The full and the small set against ``limited``, whose upload-session window is
        ``session_window_s``: files/s against the ceiling, the delay from ``add_path`` to the
        first storage PUT, and RSS growth at both sizes. Then the small set against the main
        emulator (no rate limit): the client's capacity.
        """
        window = self.settings.session_window_s
        ceiling = rate_limit_ceiling(window)
        ours = next(client for client in self.clients if client.name == OURS)
        plan = [
            (limited, full, f"{SESSIONS_PER_WINDOW} per {window:g} s", ceiling),
            (limited, small, f"{SESSIONS_PER_WINDOW} per {window:g} s", ceiling),
            (self.server, small, "no limit", None),
        ]
        for server, (paths, expected), limit, run_ceiling in plan:
            files = len(expected)
            record = Record("P7", f" {files:,} files, {limit}", 0, ours.name, 0)
            ids = self._fresh_project(server=server)
            spec = self._spec(ids, "upload", paths, server)
            try:
                with FirstStoragePut(server.base_url, self.settings.first_put_poll_s) as first:
                    result, emulator_cpu_s = self._run(
                        ours, spec, self.settings.many_files_timeout, server
                    )
            except ClientFailedError as exc:
                record.verified, record.detail = False, str(exc)
            else:
                total = sum(size for size, _ in expected.values())
                record.values = self._upload_values(result, emulator_cpu_s, files, total)
                record.values.update(self._session_counts(server))
                if first.seen_at is not None:
                    record.values["first_put_s"] = first.seen_at - result.report["t_add_path"]
                if run_ceiling is not None:
                    record.values["ceiling_files_per_s"] = run_ceiling
                    record.values["of_ceiling"] = record.values["files_per_s"] / run_ceiling
                record.detail = self._verify(ids, expected, download_all=False, server=server)
                record.verified = not record.detail
            self.records.append(record)
            self._log(record)

    @staticmethod
    def _session_counts(server: EmulatorServer) -> dict[str, int]:
        stats = server.control.stats()
        created = stats["created"]["upload_sessions"]
        attempts = stats["requests"].get(SESSION_CREATE_ROUTE, 0)
        return {"sessions": created, "sessions_refused": attempts - created}


class FirstStoragePut:
    """Watches the emulator's storage-request counter from a thread until it first moves.

    ``seen_at`` is the ``time.time()`` at which a poll first saw a storage request: at most
    one poll interval plus one stats request after the PUT arrived (an upper bound).
    """

    def __init__(self, base_url: str, interval: float) -> None:
        self.seen_at: float | None = None
        self._base_url = base_url
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="first-put", daemon=True)

    def __enter__(self) -> FirstStoragePut:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        with httpx.Client(base_url=self._base_url, timeout=30.0) as control:
            while not self._stop.is_set():
                stats = control.get("/_emulator/stats")
                stats.raise_for_status()
                if stats.json()["storage"]["requests"]:
                    self.seen_at = time.time()
                    return
                self._stop.wait(self._interval)
