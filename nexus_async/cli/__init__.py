"""The ``nexus-async`` command (``pip install nexus-async[cli]``).

``nexus-async upload PATH... | import PATH... | export | operations wait OP_ID | emulator |
demo``; the secret key and endpoint come from ``--secret-key``/``--endpoint`` or
``$NEXUS_SECRET_KEY``/``$DATATURE_API_BASE_URL``, the project from ``--project`` or
``$NEXUS_PROJECT_ID`` (default: the workspace's only project). Errors print one line on stderr
and exit 1 (2 for usage and configuration errors, 130 after Ctrl-C); ``--debug`` adds the
traceback. Results go to stdout (one JSON document with ``--json``), progress to stderr: a live
bar on a terminal, a plain line every few seconds otherwise.

The library never imports this package: typer and rich stay out of ``import nexus_async``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nexus_async._version import __version__
from nexus_async.cli._commands import Settings, export, import_, operations_wait, upload
from nexus_async.cli._demo import demo

__all__ = ["app", "main"]

app = typer.Typer(
    name="nexus-async",
    help="Upload, import and export with the Datature Nexus API (asyncio SDK), or run a local "
    "emulator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
operations = typer.Typer(help="Long-running operations.", no_args_is_help=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nexus-async {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    ctx: typer.Context,
    secret_key: Annotated[
        str | None,
        typer.Option(
            "--secret-key",
            envvar="NEXUS_SECRET_KEY",
            metavar="KEY",
            help="Workspace secret key.",
            show_envvar=True,
        ),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            envvar="DATATURE_API_BASE_URL",
            metavar="URL",
            help="API base URL (default https://api.datature.io).",
            show_envvar=True,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Global options."""
    ctx.obj = Settings(secret_key=secret_key, endpoint=endpoint, debug=debug)


class Timing(str, Enum):
    """The emulator's timing: operations end at once, or take about as long as the API's."""

    INSTANT = "instant"
    REALISTIC = "realistic"


@app.command()
def emulator(
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, help="Port (0: a free port).")
    ] = 0,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", metavar="DIR", help="Blob directory (default: temporary)."),
    ] = None,
    secret_key: Annotated[
        str | None,
        typer.Option("--secret-key", metavar="KEY", help="Secret key of the default workspace."),
    ] = None,
    timing: Annotated[
        Timing,
        typer.Option(
            "--timing",
            metavar="[instant|realistic]",
            help="Operations end at once, or take about as long as on the API.",
        ),
    ] = Timing.INSTANT,
    queue_ms: Annotated[
        int | None,
        typer.Option("--queue-ms", metavar="MS", min=0, help="Override: ms an item waits queued."),
    ] = None,
    processing_ms: Annotated[
        int | None,
        typer.Option(
            "--processing-ms", metavar="MS", min=0, help="Override: ms an item spends running."
        ),
    ] = None,
    seed_file: Annotated[
        Path | None,
        typer.Option(
            "--seed-file", metavar="FILE", help="JSON seed document (as POST /_emulator/seed)."
        ),
    ] = None,
    no_default_project: Annotated[
        bool, typer.Option("--no-default-project", help="Start without the default project.")
    ] = False,
    no_rate_limit: Annotated[
        bool, typer.Option("--no-rate-limit", help="Do not enforce the upload-session limit.")
    ] = False,
    storage_workers: Annotated[
        int,
        typer.Option(
            "--storage-workers",
            metavar="N",
            min=0,
            help="Processes serving signed-URL uploads on their own port.",
        ),
    ] = 0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Accepted for symmetry: the ready line is JSON.")
    ] = False,
) -> None:
    """Run a local Nexus emulator: prints one JSON line {base_url, secret_key, workspace_id,
    project_id}, then serves until Ctrl-C."""
    try:
        from nexus_async.emulator.__main__ import main as emulator_main
    except ImportError as exc:
        typer.echo(
            f"error: the emulator needs its extra ({exc.name} is missing): "
            "pip install 'nexus-async[emulator]'",
            err=True,
        )
        raise typer.Exit(1) from None
    argv = ["--host", host, "--port", str(port), "--timing", timing.value]
    argv += ["--storage-workers", str(storage_workers)]
    for flag, value in (
        ("--data-dir", data_dir),
        ("--secret-key", secret_key),
        ("--queue-ms", queue_ms),
        ("--processing-ms", processing_ms),
        ("--seed-file", seed_file),
    ):
        if value is not None:
            argv += [flag, str(value)]
    argv += ["--no-default-project"] if no_default_project else []
    argv += ["--no-rate-limit"] if no_rate_limit else []
    raise typer.Exit(emulator_main(argv))


app.command()(upload)
app.command("import")(import_)
app.command()(export)
operations.command("wait")(operations_wait)
app.add_typer(operations, name="operations")
app.command()(demo)


def main() -> None:
    """The console script."""
    app()
