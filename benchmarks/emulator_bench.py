"""Emulator micro-benchmark: the emulator's own CPU per storage PUT and per API read.

The emulator runs as ``python -m nexus_async.emulator`` pinned to core 0 (its storage workers
inherit the pinning); this process drives it from core 1 with a raw ``aiohttp`` client, which
costs far less per request than the emulator, so the emulator is the bottleneck being measured.
CPU comes from ``/proc/<pid>/stat`` (utime + stime) of the emulator and its child processes.

    PYTHONPATH=. python -m benchmarks.emulator_bench [--storage-workers N] [--files 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import google_crc32c
import yarl

EMULATOR_CORE = 0
CLIENT_CORE = 1
TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def _own_cpu_ms(pid: int, user: bool = True, system: bool = True) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = (int(fields[11]) if user else 0) + (int(fields[12]) if system else 0)
    return ticks * 1000.0 / TICKS  # utime, stime (fields 14, 15)


def process_cpu_ms(pid: int) -> float:
    """utime + stime of ``pid`` and its (direct) children, in milliseconds."""
    return sum(_own_cpu_ms(each) for each in (pid, *_children(pid)))


def workers_cpu_ms(pid: int, user: bool = True, system: bool = True) -> float:
    """utime + stime (or either) of the (direct) children of ``pid`` only (storage workers)."""
    return sum(_own_cpu_ms(each, user, system) for each in _children(pid))


@dataclass
class Emulator:
    """A running emulator subprocess and its ids."""

    process: subprocess.Popen[str]
    base_url: str
    secret_key: str
    project_id: str

    def cpu_ms(self) -> float:
        """CPU the emulator (and its workers) used so far."""
        return process_cpu_ms(self.process.pid)

    def workers_cpu_ms(self, user: bool = True, system: bool = True) -> float:
        """CPU its storage workers alone used so far (user, system or both)."""
        return workers_cpu_ms(self.process.pid, user, system)

    def stop(self) -> None:
        """SIGTERM and wait."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_emulator(extra: list[str]) -> Emulator:
    """Start the emulator pinned to ``EMULATOR_CORE`` and read its readiness line."""
    command = [sys.executable, "-m", "nexus_async.emulator", "--port", "0", "--no-rate-limit"]
    process = subprocess.Popen(
        [*command, *extra],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {EMULATOR_CORE}),
    )
    assert process.stdout is not None
    info = json.loads(process.stdout.readline())
    return Emulator(process, info["base_url"], info["secret_key"], info["project_id"])


class Driver:
    """Raw aiohttp calls against one emulator."""

    def __init__(self, emulator: Emulator, http: aiohttp.ClientSession, body: bytes) -> None:
        self.emulator = emulator
        self.http = http
        self.body = body
        self.crc = int.from_bytes(google_crc32c.Checksum(body).digest(), "big")
        self.api = f"{emulator.base_url}/projects/{emulator.project_id}"
        self.headers = {"Secret-Key": emulator.secret_key}

    async def create_session(self, files: int, tag: str) -> tuple[dict[str, Any], float]:
        """Create an upload session of ``files`` files; (response, wall seconds)."""
        signed = self.crc - 2**32 if self.crc >= 2**31 else self.crc
        assets = [
            {
                "filename": f"{tag}-{i}.png",
                "size": len(self.body),
                "crc32c": signed,
                "mime": "image/png",
            }
            for i in range(files)
        ]
        payload = json.dumps({"assets": assets})
        started = time.perf_counter()
        async with self.http.post(
            f"{self.api}/assetuploadsessions",
            data=payload,
            headers={**self.headers, "content-type": "application/json"},
        ) as response:
            assert response.status == 200, await response.text()
            session: dict[str, Any] = await response.json()
        return session, time.perf_counter() - started

    async def put_all(self, session: dict[str, Any], in_flight: int) -> float:
        """PUT the body to every signed URL of ``session``; wall seconds."""
        uploads = [asset["upload"] for asset in session["assets"]]
        queue = iter(uploads)

        async def worker() -> None:
            for upload in queue:
                url = yarl.URL(upload["url"], encoded=True)
                async with self.http.put(url, data=self.body, headers=upload["headers"]) as r:
                    await r.read()
                    assert r.status == 200, (r.status, await r.text())

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return time.perf_counter() - started

    async def get_operation(self, op_id: str) -> dict[str, Any]:
        """One ``GET operation``."""
        async with self.http.get(f"{self.api}/operations/{op_id}", headers=self.headers) as r:
            assert r.status == 200
            result: dict[str, Any] = await r.json()
            return result


async def cpu_of(emulator: Emulator, work: Any) -> tuple[Any, float]:
    """Run the awaitable ``work``; (its result, emulator CPU ms it cost)."""
    before = emulator.cpu_ms()
    result = await work
    await asyncio.sleep(0.05)  # let the emulator finish the work behind the last answer
    return result, emulator.cpu_ms() - before


async def measure(args: argparse.Namespace) -> dict[str, float]:
    """Run every measurement once; a dict of named results."""
    extra = ["--storage-workers", str(args.storage_workers)] if args.storage_workers else []
    if args.data_dir:
        extra += ["--data-dir", args.data_dir]
    emulator = start_emulator(extra)
    results: dict[str, float] = {}
    body = os.urandom(args.body)
    connector = aiohttp.TCPConnector(limit=args.in_flight, force_close=False)
    try:
        async with aiohttp.ClientSession(connector=connector) as http:
            driver = Driver(emulator, http, body)
            await driver.create_session(10, "warmup")  # imports, caches
            created = {}
            for files in (100, args.files):
                times, cpus = [], []
                for attempt in range(3):
                    (session, wall), cpu = await cpu_of(
                        emulator, driver.create_session(files, f"s{files}-{attempt}")
                    )
                    times.append(wall * 1000)
                    cpus.append(cpu)
                    created.setdefault(files, session)
                results[f"create_{files}_wall_ms"] = statistics.median(times)
                results[f"create_{files}_cpu_ms"] = statistics.median(cpus)
            small, big = created[100], created[args.files]
            # Reads before any upload: every item still pending.
            for name, session in (("100", small), (str(args.files), big)):
                _, cpu = await cpu_of(emulator, _repeat(driver, session["opId"], args.reads))
                results[f"get_op_{name}_pending_cpu_ms"] = cpu / args.reads
            for name, session in (("100", small), (str(args.files), big)):
                workers_before = emulator.workers_cpu_ms()
                kernel_before = emulator.workers_cpu_ms(user=False)
                wall, cpu = await cpu_of(emulator, driver.put_all(session, args.in_flight))
                count = len(session["assets"])
                results[f"put_{name}_cpu_ms"] = cpu / count
                if args.storage_workers:
                    workers = emulator.workers_cpu_ms() - workers_before
                    results[f"put_{name}_worker_cpu_ms"] = workers / count
                    kernel = emulator.workers_cpu_ms(user=False) - kernel_before
                    results[f"put_{name}_worker_sys_ms"] = kernel / count
                    results[f"put_{name}_api_cpu_ms"] = (cpu - workers) / count
                results[f"put_{name}_per_s"] = count / wall
                # The first read after the uploads pays for whatever the API deferred.
                op, first = await cpu_of(emulator, driver.get_operation(session["opId"]))
                assert op["status"]["overview"] == "Finished", op["status"]
                results[f"first_get_op_{name}_cpu_ms"] = first
                _, cpu = await cpu_of(emulator, _repeat(driver, session["opId"], args.reads))
                results[f"get_op_{name}_cpu_ms"] = cpu / args.reads
    finally:
        emulator.stop()
    return results


async def _repeat(driver: Driver, op_id: str, times: int) -> None:
    for _ in range(times):
        await driver.get_operation(op_id)


def table(rows: dict[str, float]) -> str:
    """The results as a Markdown table."""
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {name} | {value:,.3f} |" for name, value in rows.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage-workers", type=int, default=0)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--body", type=int, default=64 * 1024)
    parser.add_argument("--in-flight", type=int, default=48)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument(
        "--data-dir", help="blob directory of the emulator (default: a temporary one on disk)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {CLIENT_CORE})
    results = asyncio.run(measure(args))
    print(json.dumps(results) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
