"""Benchmark orchestrator: ``python -m benchmarks.run --official-python PATH [--quick]``.

Starts the emulator as a real server on 127.0.0.1 (``--no-rate-limit``: every run creates
upload sessions in a fresh project, and the official SDK's own 15-per-300 s limiter is left
as it is), generates the inputs in a temporary directory, runs every workload with the three
clients in alternating order, and writes ``benchmarks/results.json`` and the generated part of
``benchmarks/RESULTS.md`` (text outside the generated markers is kept). ``nox -s bench``
prepares datature's venv and runs this.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import nexus_async
from benchmarks import data, report
from benchmarks.measure import ClientProcess
from benchmarks.workloads import MIB, Bench, Settings
from nexus_async._constants import DEFAULT_PART_CONCURRENCY, DEFAULT_UPLOAD_CONCURRENCY
from nexus_async.emulator import EmulatorServer

HERE = Path(__file__).parent
BEGIN, END = "<!-- generated: begin -->", "<!-- generated: end -->"
WORKLOADS = ("P1", "P2", "P3", "P4", "P5")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; sizes default to the issue's and shrink with --quick."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--official-python", help="python of a venv with datature==1.12.2")
    parser.add_argument("--quick", action="store_true", help="200 files, 64 MiB, 1 run")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--runs", type=int, help="runs of P1, P2 and P4 (default 3)")
    parser.add_argument("--big-runs", type=int, help="runs of P3 (default 3)")
    parser.add_argument("--images", type=int, help="files of P1/P2 (default 2000)")
    parser.add_argument("--big-mib", type=int, help="size of the P3 file (default 2048)")
    parser.add_argument("--durations", help="P4 operation durations in s (default 1,5,30)")
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
    for name, value in (("runs", args.runs), ("big_runs", args.big_runs)):
        if value is not None:
            setattr(settings, name, value)
    if args.images is not None:
        settings.images = args.images
    if args.big_mib is not None:
        settings.big_size = args.big_mib * MIB
    if args.durations:
        settings.durations = tuple(float(d) for d in args.durations.split(","))
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
    generated = "\n".join(
        [
            BEGIN,
            "## Latest run",
            "",
            *head,
            config,
            f"- concurrency: {settings.concurrency} transfers (nexus_async default, also the "
            f"floor's); parts: {settings.part_concurrency}",
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
    clients = [ClientProcess("nexus_async", sys.executable, "nexus_async_client.py")]
    if args.official_python:
        clients.append(ClientProcess("official", args.official_python, "official_client.py"))
    clients.append(ClientProcess("floor", sys.executable, "floor_client.py"))
    env = environment(args.official_python)
    command = " ".join(["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as tmp:
        root = Path(tmp)
        print(f"generating inputs in {root} ...", flush=True)
        images = data.write_images(root / "images", settings.images, settings.image_size)
        one = root / "one"
        data.write_images(one, 1, settings.image_size)
        server = EmulatorServer(
            mode="subprocess", cli_args=["--no-rate-limit", "--data-dir", str(root / "emulator")]
        )
        with server:
            bench = Bench(server, clients, settings)
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
    seconds = time.perf_counter() - started
    print(write_results(args.output, env, settings, bench, command, seconds))


if __name__ == "__main__":
    main()
