"""Command line: ``python -m nexus_async.emulator`` prints one JSON line, then serves."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from nexus_async.emulator.app import create_app
from nexus_async.emulator.config import EmulatorConfig, RateLimitConfig, TimingConfig
from nexus_async.emulator.core import Emulator
from nexus_async.emulator.server import (
    SignalSafeServer,
    bind_socket,
    install_log_filter,
    start_storage_workers,
    sync_storage_forever,
    uvicorn_config,
)

_DEFAULT_LIMIT = RateLimitConfig()


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.001 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"must be at least 0.001 s, got {text}")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    """The CLI options."""
    parser = argparse.ArgumentParser(
        prog="python -m nexus_async.emulator", description="Run a local Nexus API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0 = a free port)")
    parser.add_argument("--data-dir", type=Path, help="blob directory (default: temporary)")
    parser.add_argument("--secret-key", help="secret key of the default workspace")
    parser.add_argument("--timing", choices=["instant", "realistic"], default="instant")
    parser.add_argument("--queue-ms", type=int, help="override: ms an item waits in Queued")
    parser.add_argument(
        "--processing-ms", type=int, help="override: ms an item spends Running before it ends"
    )
    parser.add_argument("--seed-file", type=Path, help="JSON seed document (as /_emulator/seed)")
    parser.add_argument("--no-default-project", action="store_true")
    parser.add_argument("--no-rate-limit", action="store_true")
    default_window = _DEFAULT_LIMIT.window_ms / 1000
    parser.add_argument(
        "--session-window-s",
        type=_positive_seconds,
        metavar="SECONDS",
        help=f"length of the upload-session rate-limit window (default {default_window:g}: "
        f"{_DEFAULT_LIMIT.max_sessions} sessions per window per project); a shorter window "
        "lets benchmarks reach the limit quickly",
    )
    parser.add_argument(
        "--storage-workers",
        type=int,
        default=0,
        help="processes serving signed-URL item uploads on their own port (default 0: none)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """An ``EmulatorConfig`` from parsed CLI options."""
    timing = TimingConfig.for_mode(args.timing)
    if args.queue_ms is not None:
        timing.queue_ms = max(0, args.queue_ms)
    if args.processing_ms is not None:
        timing.processing_ms = max(0, args.processing_ms)
    rate_limit = RateLimitConfig(enabled=not args.no_rate_limit)
    if args.session_window_s is not None:
        rate_limit.window_ms = round(args.session_window_s * 1000)
    return EmulatorConfig(
        timing=timing,
        rate_limit=rate_limit,
        data_dir=args.data_dir,
        default_project=not args.no_default_project,
        default_secret_key=args.secret_key,
        storage_workers=max(0, args.storage_workers),
    )


async def serve(emulator: Emulator, host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM, printing the ready line once listening."""
    sock = bind_socket(host, port)
    start_storage_workers(emulator, host)
    server = SignalSafeServer(uvicorn_config(create_app(emulator=emulator)))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    syncing = asyncio.create_task(sync_storage_forever(emulator))
    ready = asyncio.create_task(server.ready.wait())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    if server.started:
        bound_port = sock.getsockname()[1]
        info = {"base_url": f"http://{host}:{bound_port}", **emulator.default_ids()}
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
    try:
        await task
    finally:
        syncing.cancel()
        sock.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = build_parser().parse_args(argv)
    install_log_filter()
    emulator = Emulator(config_from_args(args))
    try:
        if args.seed_file is not None:
            emulator.seed(json.loads(args.seed_file.read_text(encoding="utf-8")))
        asyncio.run(serve(emulator, args.host, args.port))
    finally:
        emulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
