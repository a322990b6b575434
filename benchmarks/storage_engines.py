"""Client CPU per storage PUT for each storage engine and concurrency:
``python -m benchmarks.storage_engines [--files 1000] [--repeats 3]``.

The emulator runs as a subprocess (no rate limit, one storage worker process serving the
signed URLs; a fresh one per run) pinned to core 0; this client is pinned to core 1. For every
configuration an upload session of ``--files`` x 64 KiB PNGs is created through the API, then
every file is PUT to its signed URL through :class:`~nexus_async.uploads.StorageClient`
(``send_local_file``, as upload sessions do). Only the PUT phase after a first wave of
``in flight`` PUTs (which opens the connections) is timed: this process's CPU (getrusage,
every thread included, so a thread hop is counted) per PUT, wall time, and the emulator's CPU
per PUT (/proc). Configurations:

* engine: ``httpx`` (the baseline, same run), ``aiohttp``, ``aiohttp`` on uvloop (if installed);
* in flight: 32, 64, 128 (``max_connections``; httpx in pools of
  ``ASSET_UPLOAD_CONNECTIONS_PER_CLIENT``, as uploads use it);
* the 64 KiB body read in a worker thread (``hop``) or on the event loop (``loop``);
* ``--latency-ms``: the storage host answers each PUT that much later (an emulator fault
  rule), as a remote bucket would; loopback alone cannot show what more in flight buys.

Each configuration runs ``--repeats`` times, interleaved; the table shows medians. Results:
``benchmarks/STORAGE_ENGINES.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.data import write_images
from nexus_async import AsyncClient
from nexus_async._constants import ASSET_UPLOAD_CONNECTIONS_PER_CLIENT
from nexus_async.emulator import EmulatorServer
from nexus_async.types.uploads import UploadSession
from nexus_async.uploads import StorageClient
from nexus_async.uploads.checksums import crc32c_to_signed_int
from nexus_async.uploads.files import LocalFile

FILE_SIZE = 64 * 1024
CONCURRENCIES = (32, 64, 128)
READS = {"hop": 0, "loop": FILE_SIZE}
CLI_ARGS = ["--no-rate-limit", "--storage-workers", "1"]


@dataclass(frozen=True)
class Config:
    engine: str
    loop: str
    in_flight: int
    read: str

    @property
    def label(self) -> str:
        loop = "" if self.loop == "asyncio" else f"+{self.loop}"
        return f"{self.engine}{loop}"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_pids(server: EmulatorServer) -> list[int]:
    """The emulator process and its storage worker processes."""
    if server._process is None:
        return []
    pids = [server._process.pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pids[0]}/task/{pids[0]}/children").read_text().split()
        pids += [int(pid) for pid in children]
    return pids


def _server_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the server processes so far (/proc/<pid>/stat)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _emulator() -> EmulatorServer:
    """A new emulator, started on every core (it inherits this process's pinning)."""
    os.sched_setaffinity(0, range(os.cpu_count() or 1))
    return EmulatorServer(mode="subprocess", cli_args=CLI_ARGS, startup_timeout=120)


def _pin(pids: list[int]) -> None:
    """This process to core 1; the emulator and its storage workers to core 0."""
    if (os.cpu_count() or 1) < 2:
        return
    os.sched_setaffinity(0, {1})
    for pid in pids:
        os.sched_setaffinity(pid, {0})


async def _put_all(
    server: EmulatorServer, files: list[LocalFile], config: Config, tag: str
) -> tuple[float, float, float]:
    """(client CPU ms per PUT, wall seconds, server CPU ms per PUT) of PUTting every file."""
    async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
        body = {
            "groups": ["main"],
            "assets": [
                {
                    "filename": f"{tag}-{f.filename}",
                    "size": f.size,
                    "crc32c": crc32c_to_signed_int(f.crc32c),
                    "mime": f.mime,
                }
                for f in files
            ],
        }
        session = await client._transport.request(
            "POST",
            f"/projects/{server.project_id}/assetuploadsessions",
            cast_to=UploadSession,
            body=body,
        )
    uploads = [asset.upload for asset in session.assets]
    storage = StorageClient(
        max_connections=config.in_flight,
        connections_per_client=ASSET_UPLOAD_CONNECTIONS_PER_CLIENT,
        engine=config.engine,  # type: ignore[arg-type]
        read_on_loop_max_size=READS[config.read],
    )
    async with storage:
        limiter = asyncio.Semaphore(config.in_flight)

        async def put(index: int) -> None:
            async with limiter:
                upload = uploads[index]
                await storage.send_local_file(
                    upload.method, upload.url, upload.headers, files[index]
                )

        # The first wave opens every connection and builds the engine, outside the measure.
        warm = config.in_flight
        await asyncio.gather(*(put(i) for i in range(warm)))
        pids = _server_pids(server)
        cpu, wall, server_cpu = _cpu_seconds(), time.perf_counter(), _server_cpu_seconds(pids)
        await asyncio.gather(*(put(i) for i in range(warm, len(files))))
        wall = time.perf_counter() - wall
        cpu = _cpu_seconds() - cpu
        server_cpu = _server_cpu_seconds(pids) - server_cpu
    measured = len(files) - warm
    return cpu * 1000 / measured, wall, server_cpu * 1000 / measured


def _new_loop(name: str) -> asyncio.AbstractEventLoop:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _configs(engines: list[str], concurrencies: list[int]) -> list[Config]:
    loops = [("httpx", "asyncio"), ("aiohttp", "asyncio")]
    if importlib.util.find_spec("uvloop") is not None:
        loops.append(("aiohttp", "uvloop"))
    return [
        Config(engine, loop, in_flight, read)
        for engine, loop in loops
        if Config(engine, loop, 0, "").label in engines
        for in_flight in concurrencies
        for read in READS
    ]


def main(
    count: int, repeats: int, engines: list[str], concurrencies: list[int], latency_ms: float
) -> None:
    configs = _configs(engines, concurrencies)
    results: dict[Config, list[tuple[float, float, float]]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as folder:
        expected = write_images(Path(folder), count, FILE_SIZE)
        files = [
            LocalFile(
                filename=name,
                size=size,
                crc32c=crc,
                mime="image/png",
                path=Path(folder) / name,
            )
            for name, (size, crc) in sorted(expected.items())
        ]
        for repeat in range(repeats):
            for index, config in enumerate(configs):
                # A fresh emulator per run: one that holds earlier runs' assets answers slower.
                with _emulator() as server:
                    _pin(_server_pids(server))
                    if latency_ms:
                        server.control.add_fault({"route": "storage", "latency_ms": latency_ms})
                    loop = _new_loop(config.loop)
                    try:
                        run = _put_all(server, files, config, f"r{repeat}c{index}")
                        cpu_ms, wall, server_ms = loop.run_until_complete(run)
                    finally:
                        loop.close()
                results[config].append((cpu_ms, wall, server_ms))
                print(
                    f"run {repeat + 1}/{repeats} {config.label} {config.in_flight} "
                    f"{config.read}: {cpu_ms:.3f} ms CPU/PUT, {wall:.2f} s, "
                    f"server {server_ms:.3f} ms CPU/PUT",
                    flush=True,
                )
    baseline = {
        (c.in_flight, c.read): statistics.median(r[0] for r in results[c])
        for c in configs
        if c.engine == "httpx"
    }
    print()
    print(
        f"{count} PUTs of 64 KiB per run (the first wave untimed), medians of {repeats} runs, "
        f"{latency_ms:g} ms added by the storage host"
    )
    print()
    print(
        "| engine | in flight | body read | client CPU per PUT | vs httpx | wall | PUT/s "
        "| server CPU per PUT |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for config in configs:
        cpu_ms = statistics.median(r[0] for r in results[config])
        wall = statistics.median(r[1] for r in results[config])
        server_ms = statistics.median(r[2] for r in results[config])
        base = baseline.get((config.in_flight, config.read))
        ratio = f"{cpu_ms / base:.2f}x" if base else "-"
        print(
            f"| {config.label} | {config.in_flight} | {config.read} | {cpu_ms:.3f} ms "
            f"| {ratio} | {wall:.2f} s | {(count - config.in_flight) / wall:.0f} "
            f"| {server_ms:.3f} ms |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engines", default="httpx,aiohttp,aiohttp+uvloop")
    parser.add_argument("--in-flight", default=",".join(map(str, CONCURRENCIES)))
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="the storage host waits this long per PUT"
    )
    arguments = parser.parse_args()
    main(
        arguments.files,
        arguments.repeats,
        arguments.engines.split(","),
        [int(n) for n in arguments.in_flight.split(",")],
        arguments.latency_ms,
    )
