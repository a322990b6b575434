"""The workloads P1-P5: each run resets the emulator, runs one client and verifies the result.

Every upload run counts only if the emulator then holds exactly the expected assets (names and
sizes through the API), its storage saw no checksum or size mismatch, and the bytes of a sample
of assets (every asset of P3) downloaded back have the expected CRC-32C.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import google_crc32c
import httpx

from benchmarks.measure import ClientFailedError, ClientProcess, run_client
from nexus_async.emulator import EmulatorServer

MIB = 1024 * 1024
VERIFY_SAMPLE = 16
OPERATION_ROUTE_HINT = "operation"


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
        self, server: EmulatorServer, clients: list[ClientProcess], settings: Settings
    ) -> None:
        self.server = server
        self.clients = clients
        self.settings = settings
        self.records: list[Record] = []

    # --- emulator -------------------------------------------------------------------------

    def _fresh_project(self, *, storage_latency_ms: int = 0, processing_ms: int = 0) -> Any:
        control = self.server.control
        ids = control.reset()
        control.set_timing(0, processing_ms)
        if storage_latency_ms:
            control.add_fault({"route": "storage", "latency_ms": storage_latency_ms})
        return ids

    def _api(self, ids: dict[str, Any]) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.base_url,
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
        self, ids: dict[str, Any], expected: dict[str, tuple[int, int]], download_all: bool
    ) -> str:
        """'' if the emulator holds exactly the expected assets, else what is wrong."""
        stats = self.server.control.stats()["storage"]
        if stats.get("checksum_failures") or stats.get("size_mismatches"):
            return f"storage mismatches: {stats}"
        with self._api(ids) as api:
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

    def _spec(self, ids: dict[str, Any], workload: str, paths: list[Path]) -> dict[str, Any]:
        settings = self.settings
        return {
            "workload": workload,
            "base_url": self.server.base_url,
            "secret_key": ids["secret_key"],
            "project_id": ids["project_id"],
            "paths": [str(p) for p in paths],
            "concurrency": settings.concurrency,
            "part_concurrency": settings.part_concurrency,
            "multipart_threshold": settings.multipart_threshold,
            "poll_interval": settings.floor_poll_interval,
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
                    result = run_client(
                        client, self._spec(ids, "upload", paths), self.settings.client_timeout
                    )
                except ClientFailedError as exc:
                    record.verified, record.detail = False, str(exc)
                else:
                    report = result.report
                    wall = report["wall_s"]
                    record.values = {
                        "wall_s": wall,
                        "files_per_s": files / wall,
                        "mb_per_s": total / MIB / wall,
                        "cpu_s": report["cpu_s"],
                        "peak_rss_mib": report["peak_rss_mib"],
                        "rss_growth_mib": report["peak_rss_mib"] - report["rss_before_mib"],
                        "process_cpu_s": result.process_cpu_s,
                    }
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
                        result = run_client(
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
                    report = run_client(client, {"workload": "import"}, 120.0).report
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
