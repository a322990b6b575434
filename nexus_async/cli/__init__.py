"""The ``nexus-async`` command (``pip install nexus-async[cli]``).

``nexus-async upload PATH... | import PATH... | export | operations wait OP_ID | emulator |
demo``; the secret key and endpoint come from ``--secret-key``/``--endpoint`` or
``$NEXUS_SECRET_KEY``/``$DATATURE_API_BASE_URL``, the project from ``--project`` or
``$NEXUS_PROJECT_ID`` (default: the workspace's only project). Errors print one line on stderr
and exit 1 (2 for usage and configuration errors); ``--debug`` adds the traceback.

The library never imports this package: typer and rich stay out of ``import nexus_async``.
"""

from __future__ import annotations

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
            help="Workspace secret key.",
            show_envvar=True,
        ),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            envvar="DATATURE_API_BASE_URL",
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


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def emulator(ctx: typer.Context) -> None:
    """Run a local Nexus emulator; prints one JSON line {base_url, secret_key, workspace_id,
    project_id}, then serves until Ctrl-C. Options: see `nexus-async emulator --help`."""
    try:
        from nexus_async.emulator.__main__ import main as emulator_main
    except ImportError as exc:
        typer.echo(
            f"error: the emulator needs its extra ({exc.name} is missing): "
            "pip install 'nexus-async[emulator]'",
            err=True,
        )
        raise typer.Exit(1) from None
    raise typer.Exit(emulator_main(list(ctx.args)))


app.command()(upload)
app.command("import")(import_)
app.command()(export)
operations.command("wait")(operations_wait)
app.add_typer(operations, name="operations")
app.command()(demo)


def main() -> None:
    """The console script."""
    app()
