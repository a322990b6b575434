"""The commands that talk to a workspace: upload, import, export, operations wait.

Each prints prose on stdout, or one JSON document with ``--json``; progress goes to stderr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from nexus_async import AsyncClient, ConfigurationError, InvalidInputError, Project
from nexus_async._constants import DEFAULT_UPLOAD_CONCURRENCY
from nexus_async.cli._ui import UploadBar, WaitSpinner, echo_json, format_bytes, run, timed
from nexus_async.types.exports import AnnotationExportFormat
from nexus_async.types.params import AnnotationExportParams

__all__ = [
    "JsonOption",
    "Settings",
    "export",
    "import_",
    "open_project",
    "operations_wait",
    "upload",
    "upload_summary",
]


@dataclass
class Settings:
    """The global options (``nexus-async --secret-key K --endpoint URL --debug ...``)."""

    secret_key: str | None = None
    endpoint: str | None = None
    debug: bool = False


ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        envvar="NEXUS_PROJECT_ID",
        metavar="ID",
        help="Project id (default: the workspace's only project).",
        show_envvar=True,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document on stdout instead of prose.")
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", metavar="SECONDS", help="Seconds to wait.")
]


def settings_of(ctx: typer.Context) -> Settings:
    """The global options stored by the app callback."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings()


async def open_project(client: AsyncClient, project_id: str | None) -> Project:
    """``project_id``'s handle, or the workspace's only project when it is None."""
    if project_id:
        return client.get_project(project_id)
    projects = await client.list_projects()
    if len(projects) != 1:
        raise InvalidInputError(
            f"the workspace has {len(projects)} projects: choose one with --project "
            "(or $NEXUS_PROJECT_ID)"
        )
    return projects[0]


def make_client(settings: Settings) -> AsyncClient:
    """A client from the global options (or $NEXUS_SECRET_KEY / $DATATURE_API_BASE_URL)."""
    if not (settings.secret_key or os.environ.get("NEXUS_SECRET_KEY")):
        raise ConfigurationError("no secret key: pass --secret-key or set $NEXUS_SECRET_KEY")
    return AsyncClient(settings.secret_key, endpoint=settings.endpoint)


def upload_summary(bar: UploadBar, seconds: float, *, skipped: bool, to: str = "") -> str:
    """``Uploaded 300 files (1.2 MB) to proj_x in 2.1 s (571.4 kB/s), skipped 0 already
    uploaded``: the final line of an upload."""
    done = bar.summary(seconds)
    where = f" to {to}" if to else ""
    line = (
        f"Uploaded {done['files']} files ({format_bytes(done['bytes'])}){where} in "
        f"{seconds:.1f} s ({format_bytes(done['bytes_per_second'])}/s)"
    )
    if not skipped:
        return line
    return line + (
        f", skipped {done['skipped']} already uploaded (same name and size; content not "
        "compared: upload without --resume to replace edited files)"
        if done["skipped"]
        else ", skipped 0 already uploaded"
    )


def upload(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH...", help="Files or folders (searched recursively)."),
    ],
    project: ProjectOption = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", "-g", metavar="NAME", help="Asset group (repeatable)."),
    ] = None,
    background: Annotated[
        bool,
        typer.Option(
            "--background",
            help="Return once the bytes are sent (the server ingests them on its own); print "
            "the operation ids.",
        ),
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", metavar="N", min=1, help="Transfers at once.")
    ] = DEFAULT_UPLOAD_CONCURRENCY,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Skip files the project already holds (same name and size)."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Upload images, videos or other assets to a project, with a progress bar.

    Ctrl-C stops the upload and says how many files were sent; run the same command with
    --resume to send the rest.
    """
    settings = settings_of(ctx)
    bar = UploadBar("uploading", background=background)

    async def main() -> None:
        async with make_client(settings) as client:
            handle = await open_project(client, project)
            with bar, timed() as elapsed:
                session = handle.assets.create_upload_session(
                    groups=group or ["main"],
                    background=background,
                    max_concurrency=concurrency,
                    skip_existing=resume,
                    progress=bar,
                )
                bar.attach(session)
                async with session:
                    for path in paths:
                        await session.add_path(path)
            op_ids = session.get_operation_ids()
            if json_output:
                echo_json(
                    {
                        "project_id": handle.id,
                        **bar.summary(elapsed[0]),
                        "background": background,
                        "operation_ids": op_ids,
                        "skipped_unverified": session.skipped_unverified,
                    }
                )
                return
            typer.echo(upload_summary(bar, elapsed[0], skipped=resume, to=handle.id))
            if background:
                for op_id in op_ids:
                    typer.echo(f"operation {op_id}")

    run(main(), debug=settings.debug, interrupted=bar.interrupted)


def import_(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH...", help="Annotation files or folders.")
    ],
    project: ProjectOption = None,
    background: Annotated[
        bool,
        typer.Option(
            "--background",
            help="Return once the files are sent (the server processes them on its own); "
            "print the import session id.",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Import annotation files (CSV four-corner, COCO, ...) and wait until they are processed."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with make_client(settings) as client:
            handle = await open_project(client, project)
            with WaitSpinner("importing annotations") as spinner, timed() as elapsed:
                session = handle.annotations.create_import_session(background=background)
                async with session:
                    for path in paths:
                        await session.add_path(path)
                    spinner.update(f"{len(session)} file(s) sent, processing")
            state = await session.get()
            committed = state.status.annotations.with_status.Committed
            if json_output:
                echo_json(
                    {
                        "session_id": session.id,
                        "files": len(session),
                        "status": state.status.overview,
                        "annotations": committed,
                        "seconds": round(elapsed[0], 3),
                    }
                )
            elif background:
                typer.echo(
                    f"Sent {len(session)} file(s) to import session {session.id} in "
                    f"{elapsed[0]:.1f} s; the server processes them ({state.status.overview})"
                )
            else:
                typer.echo(
                    f"Imported {committed} annotations from {len(session)} file(s) "
                    f"(session {session.id}) in {elapsed[0]:.1f} s"
                )

    run(main(), debug=settings.debug)


def export(
    ctx: typer.Context,
    format: Annotated[
        AnnotationExportFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="Export format: " + ", ".join(f.value for f in AnnotationExportFormat) + ".",
        ),
    ] = AnnotationExportFormat.COCO,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="DIR", help="Folder to extract into (default ./export)."
        ),
    ] = None,
    project: ProjectOption = None,
    split_ratio: Annotated[
        float,
        typer.Option("--split-ratio", metavar="RATIO", min=0.0, max=1.0, help="Validation share."),
    ] = 0.0,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Seed of the train/validation split.")
    ] = 1337,
    background: Annotated[
        bool,
        typer.Option(
            "--background",
            help="Start the export and print its operation id without waiting; download it "
            "later with --operation.",
        ),
    ] = False,
    operation: Annotated[
        str | None,
        typer.Option(
            "--operation",
            metavar="OP_ID",
            help="Download the export of this operation (started with --background) instead "
            "of starting one.",
        ),
    ] = None,
    timeout: TimeoutOption = 3600.0,
    json_output: JsonOption = False,
) -> None:
    """Export the project's annotations, wait for the export, download and extract it."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with make_client(settings) as client:
            handle = await open_project(client, project)
            with WaitSpinner("exporting") as spinner, timed() as elapsed:
                if operation is None:
                    metadata: AnnotationExportParams = {
                        "format": format.value,
                        "options": {"split_ratio": split_ratio, "seed": seed},
                    }
                    op = await handle.annotations.create_export(metadata, background=True)
                    op_id = op.id
                    if background:
                        if json_output:
                            echo_json(
                                {
                                    "operation_id": op_id,
                                    "format": format.value,
                                    "status": op.status.overview,
                                }
                            )
                        else:
                            typer.echo(f"Export ({format.value}) started; download it with:")
                            typer.echo(f"  nexus-async export --operation {op_id}")
                            typer.echo(f"operation {op_id}")
                        return
                else:
                    op_id = operation
                await handle.operations.wait_until_done(op_id, timeout, on_poll=spinner.on_poll)
                local = await handle.annotations.download_exported_file(
                    op_id, out or Path("export")
                )
            if json_output:
                echo_json(
                    {
                        "operation_id": op_id,
                        "download_path": str(local.download_path),
                        "files": list(local.file_names),
                        "seconds": round(elapsed[0], 3),
                    }
                )
                return
            what = f"Exported {format.value}" if operation is None else "Downloaded the export"
            typer.echo(
                f"{what} ({op_id}) in {elapsed[0]:.1f} s: "
                f"{len(local.file_names)} file(s) in {local.download_path}"
            )
            for name in local.file_names:
                typer.echo(f"  {name}")

    run(main(), debug=settings.debug)


def operations_wait(
    ctx: typer.Context,
    op_id: Annotated[str, typer.Argument(metavar="OP_ID", help="The operation id (op_...).")],
    project: ProjectOption = None,
    timeout: TimeoutOption = 3600.0,
    json_output: JsonOption = False,
) -> None:
    """Wait until an operation is Finished (exit 1 if it fails, is cancelled or times out)."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with make_client(settings) as client:
            handle = await open_project(client, project)
            with WaitSpinner(f"waiting for {op_id}") as spinner, timed() as elapsed:
                op = await handle.operations.wait_until_done(
                    op_id, timeout, on_poll=spinner.on_poll
                )
            if json_output:
                echo_json(
                    {
                        "id": op.id,
                        "kind": op.kind,
                        "status": op.status.overview,
                        "seconds": round(elapsed[0], 3),
                    }
                )
            else:
                typer.echo(
                    f"Operation {op.id} ({op.kind}) {op.status.overview} after {elapsed[0]:.1f} s"
                )

    run(main(), debug=settings.debug)
