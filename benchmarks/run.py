"""Benchmark orchestrator: ``python -m benchmarks.run --official-python PATH [--quick]``.

Starts the emulator as a real server on 127.0.0.1 (``--no-rate-limit``: every run creates
upload sessions in a fresh project, and the official SDK's own 15-per-300 s limiter is left
as it is), generates the inputs in a temporary directory, runs every workload with the three
clients in alternating order, and writes ``benchmarks/results.json`` and the generated part of
``benchmarks/RESULTS.md`` (text outside the generated markers is kept). With 2 usable cores or
more, the emulator and this process run on the first, each client on the second. P7 starts a
second emulator with the upload-session limit on and a scaled window (``--p7-window-s``).
``nox -s bench`` prepares datature's venv and runs this.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import nexus_async
from benchmarks import data, report
from benchmarks.measure import ClientProcess, Pinning
from benchmarks.workloads import MIB, Bench, Settings, rate_limit_ceiling
from nexus_async._constants import DEFAULT_PART_CONCURRENCY, DEFAULT_UPLOAD_CONCURRENCY
from nexus_async.emulator import EmulatorServer

HERE = Path(__file__).parent
BEGIN, END = "<!-- generated: begin -->", "<!-- generated: end -->"
WORKLOADS = ("P1", "P2", "P3", "P4", "P5", "P7")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; sizes default to the issue's and shrink with --quick."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--official-python", help="python of a venv with datature==1.12.2")
    parser.add_argument(
        "--quick", action="store_true", help="200 files, 64 MiB, 1 run; P7: 5,000 files, 1 s"
    )
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--runs", type=int, help="runs of P1, P2 and P4 (default 3)")
    parser.add_argument("--big-runs", type=int, help="runs of P3 (default 3)")
    parser.add_argument("--images", type=int, help="files of P1/P2 (default 2000)")
    parser.add_argument("--big-mib", type=int, help="size of the P3 file (default 2048)")
    parser.add_argument("--durations", help="P4 operation durations in s (default 1,5,30)")
    parser.add_argument("--p7-files", type=int, help="files of P7's large set (default 200000)")
    parser.add_argument(
        "--p7-small-files", type=int, help="files of P7's small set, part of the large one (50000)"
    )
    parser.add_argument(
        "--p7-window-s",
        type=float,
        help="P7's upload-session window in s (default 200: a ceiling of 375 files/s)",
    )
    parser.add_argument(
        "--storage-workers",
        type=int,
        default=1,
        help="the emulators' --storage-workers (default 1: less emulator CPU per PUT)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument(
        "--scratch", type=Path, help="where inputs and emulator blobs go (default: system temp)"
    )
    parser.add_argument("--output", type=Path, default=HERE, help="where results go")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    """The issue's sizes, or the quick ones, with any explicit override."""
    settings = Settings(concurrency=DEFAULT_UPLOAD_CONCURRENCY)
    settings.part_concurrency = DEFAULT_PART_CONCURRENCY
    if args.quick:
        settings.runs = settings.big_runs = 1
        settings.images, settings.big_size = 200, 64 * MIB
        settings.multipart_threshold = 32 * MIB
        settings.durations, settings.import_runs = (1.0, 5.0), 2
        settings.many_files, settings.many_files_small = 5000, 2000
        settings.session_window_s = 1.0
    for name, value in (("runs", args.runs), ("big_runs", args.big_runs)):
        if value is not None:
            setattr(settings, name, value)
    if args.images is not None:
        settings.images = args.images
    if args.big_mib is not None:
        settings.big_size = args.big_mib * MIB
    if args.durations:
        settings.durations = tuple(float(d) for d in args.durations.split(","))
    for name, value in (
        ("many_files", args.p7_files),
        ("many_files_small", args.p7_small_files),
        ("session_window_s", args.p7_window_s),
    ):
        if value is not None:
            setattr(settings, name, value)
    settings.many_files_small = min(settings.many_files_small, settings.many_files)
    return settings


def _output_of(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def environment(official_python: str | None) -> dict[str, object]:
    """Machine, interpreters and versions."""
    with open("/proc/meminfo") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    official = "-"
    if official_python:
        probe = (
            "import sys, importlib.metadata as m; "
            "print(m.version('datature'), sys.version.split()[0])"
        )
        official = _output_of([official_python, "-c", probe])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {total_kib / 1024 / 1024:.1f} GiB RAM, "
        f"{platform.processor() or platform.machine()}",
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "nexus_async": nexus_async.__version__,
        "httpx": httpx.__version__,
        "datature (and its python)": official,
        "commit": _output_of(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"]),
    }


def write_results(
    output: Path,
    env: dict[str, object],
    settings: Settings,
    bench: Bench,
    command: str,
    seconds: float,
    storage_workers: int = 0,
) -> str:
    """Write results.json and the generated part of RESULTS.md; return that part."""
    output.mkdir(parents=True, exist_ok=True)
    payload = {
        "environment": env,
        "command": command,
        "total_seconds": seconds,
        "settings": dataclasses.asdict(settings),
        "records": [dataclasses.asdict(r) for r in bench.records],
    }
    (output / "results.json").write_text(json.dumps(payload, indent=1) + "\n")
    head = [f"- {key}: {value}" for key, value in env.items()]
    config = (
        f"- sizes: P1/P2 {settings.images} files of {settings.image_size // 1024} KiB "
        f"(P1: +{settings.latency_ms} ms per storage request); P3 one file of "
        f"{settings.big_size // MIB} MiB (multipart above {settings.multipart_threshold // MIB} "
        f"MiB); P4 operations of {', '.join(f'{d:g}' for d in settings.durations)} s; "
        f"runs: {settings.runs} (P3: {settings.big_runs}, P5: {settings.import_runs})"
    )
    if any(record.workload == "P7" for record in bench.records):
        config += (
            f"; P7 {settings.many_files_small:,} and {settings.many_files:,} files of "
            f"{settings.many_file_size // 1024} KiB, upload-session window "
            f"{settings.session_window_s:g} s (ceiling "
            f"{rate_limit_ceiling(settings.session_window_s):,.1f} files/s), 1 run each"
        )
    generated = "\n".join(
        [
            BEGIN,
            "## Latest run",
            "",
            *head,
            config,
            f"- concurrency: {settings.concurrency} transfers (nexus_async default, also the "
            f"floor's); parts: {settings.part_concurrency}",
            f"- pinning: {bench.pinning.describe()}",
            f"- emulator storage workers: {storage_workers}",
            f"- command: `{command}` ({seconds / 60:.1f} min)",
            "",
            report.markdown(bench.records),
            END,
        ]
    )
    results = output / "RESULTS.md"
    text = results.read_text() if results.exists() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + generated + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + generated + "\n"
    results.write_text(text)
    return generated


def main(argv: list[str] | None = None) -> None:
    """Generate, run, report."""
    args = parse_args(argv)
    settings = settings_from(args)
    selected = set(args.workloads.split(","))
    pinning = Pinning.for_this_machine(enabled=not args.no_pin)
    if pinning.emulator is not None:
        os.sched_setaffinity(0, pinning.emulator)  # emulators started below inherit it
    print(f"pinning: {pinning.describe()}", flush=True)
    clients = [ClientProcess("nexus_async", sys.executable, "nexus_async_client.py")]
    if args.official_python:
        clients.append(ClientProcess("official", args.official_python, "official_client.py"))
    clients.append(ClientProcess("floor", sys.executable, "floor_client.py"))
    env = environment(args.official_python)
    command = " ".join(["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])])
    workers = ["--storage-workers", str(args.storage_workers)] if args.storage_workers else []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nexus-bench-", dir=args.scratch) as tmp:
        root = Path(tmp)
        print(f"generating inputs in {root} ...", flush=True)
        images = data.write_images(root / "images", settings.images, settings.image_size)
        one = root / "one"
        data.write_images(one, 1, settings.image_size)
        server = EmulatorServer(
            mode="subprocess",
            cli_args=["--no-rate-limit", "--data-dir", str(root / "emulator"), *workers],
        )
        with server:
            bench = Bench(server, clients, settings, pinning)
            if "P1" in selected:
                print("P1: uploads with added storage latency", flush=True)
                bench.upload(
                    "P1",
                    [root / "images"],
                    images,
                    runs=settings.runs,
                    storage_latency_ms=settings.latency_ms,
                )
            if "P2" in selected:
                print("P2: uploads, no added latency", flush=True)
                bench.upload("P2", [root / "images"], images, runs=settings.runs)
            if "P3" in selected:
                print("P3: one large file (multipart)", flush=True)
                big = root / "big" / "large-video.mp4"
                big.parent.mkdir()
                expected = data.write_video(big, settings.big_size)
                bench.upload("P3", [big], expected, runs=settings.big_runs)
                big.unlink()
            if "P4" in selected:
                print("P4: operation completion latency", flush=True)
                bench.completion_latency(next(one.iterdir()))
            if "P5" in selected:
                print("P5: cold import", flush=True)
                bench.cold_import()
            if "P7" in selected:
                many_files(bench, root, workers)
    seconds = time.perf_counter() - started
    print(write_results(args.output, env, settings, bench, command, seconds, args.storage_workers))


def many_files(bench: Bench, root: Path, workers: list[str]) -> None:
    """P7: generate the small set and the rest of the large one, run, delete them."""
    settings = bench.settings
    folder = root / "many"
    small, size = settings.many_files_small, settings.many_file_size
    print(f"P7: generating {settings.many_files:,} files of {size} bytes ...", flush=True)
    small_set = data.write_images(folder / "small", small, size)
    rest = data.write_images(folder / "rest", settings.many_files - small, size, first=small)
    window = f"{settings.session_window_s:g}"
    limited = EmulatorServer(
        mode="subprocess",
        cli_args=["--session-window-s", window, "--data-dir", str(root / "emulator-p7"), *workers],
    )
    print(f"P7: many small files, upload-session window {window} s", flush=True)
    with limited:
        bench.many_files(
            limited, ([folder / "small"], small_set), ([folder], {**small_set, **rest})
        )
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
