"""The commands that talk to a workspace: upload, import, export, operations wait."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from nexus_async import AsyncClient, ConfigurationError, InvalidInputError, Project
from nexus_async._constants import DEFAULT_UPLOAD_CONCURRENCY
from nexus_async.cli._ui import UploadBar, WaitSpinner, format_bytes, run, timed

__all__ = ["Settings", "export", "import_", "open_project", "operations_wait", "upload"]


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
        help="Project id (default: the workspace's only project).",
    ),
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


def upload(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively).")],
    project: ProjectOption = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Asset group (repeatable).")
    ] = None,
    background: Annotated[
        bool,
        typer.Option(
            "--background", help="Return once the bytes are sent; print the operation ids."
        ),
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Transfers at once.")
    ] = DEFAULT_UPLOAD_CONCURRENCY,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Skip files the project already holds (same name and size)."),
    ] = False,
) -> None:
    """Upload images, videos or other assets to a project, with a progress bar."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with make_client(settings) as client:
            handle = await open_project(client, project)
            with UploadBar("uploading") as bar, timed() as elapsed:
                session = handle.assets.create_upload_session(
                    groups=group or ["main"],
                    background=background,
                    max_concurrency=concurrency,
                    skip_existing=resume,
                    progress=bar,
                )
                async with session:
                    for path in paths:
                        await session.add_path(path)
            done, sent = bar.last, bar.bytes_sent
            rate = sent / elapsed[0] if elapsed[0] else 0.0
            skipped = f", skipped {done.files_skipped} already uploaded" if resume else ""
            typer.echo(
                f"Uploaded {done.files_done} files ({format_bytes(sent)}) to "
                f"{handle.id} in {elapsed[0]:.1f} s ({format_bytes(rate)}/s){skipped}"
            )
            if background:
                for op_id in session.get_operation_ids():
                    typer.echo(f"operation {op_id}")

    run(main(), debug=settings.debug)


def import_(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Annotation files or folders.")],
    project: ProjectOption = None,
) -> None:
    """Import annotation files (CSV four-corner, COCO, ...) and wait until they are processed."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with make_client(settings) as client:
            handle = await open_project(client, project)
            with WaitSpinner("importing annotations") as spinner, timed() as elapsed:
                async with handle.annotations.create_import_session() as session:
                    for path in paths:
                        await session.add_path(path)
                    spinner.update(f"{len(session)} file(s) sent, processing")
            state = await session.get()
            committed = state.status.annotations.with_status.Committed
            typer.echo(
                f"Imported {committed} annotations from {len(session)} file(s) "
                f"(session {session.id}) in {elapsed[0]:.1f} s"
            )

    run(main(), debug=settings.debug)


def export(
    ctx: typer.Context,
    format: Annotated[
        str, typer.Option("--format", "-f", help="Export format, e.g. coco.")
    ] = "coco",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to extract into (default ./export).")
    ] = None,
    project: ProjectOption = None,
    split_ratio: Annotated[
        float, typer.Option("--split-ratio", help="Validation share, 0 to 1.")
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the train/validation split.")] = 1337,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the export.")
    ] = 3600.0,
) -> None:
    """Export the project's annotations, wait for the export, download and extract it."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with make_client(settings) as client:
            handle = await open_project(client, project)
            metadata = {"format": format, "options": {"split_ratio": split_ratio, "seed": seed}}
            with WaitSpinner("exporting") as spinner, timed() as elapsed:
                op = await handle.annotations.create_export(metadata, background=True)
                await handle.operations.wait_until_done(op.id, timeout, on_poll=spinner.on_poll)
                local = await handle.annotations.download_exported_file(
                    op.id, out or Path("export")
                )
            typer.echo(
                f"Exported {format} ({op.id}) in {elapsed[0]:.1f} s: "
                f"{len(local.file_names)} file(s) in {local.download_path}"
            )
            for name in local.file_names:
                typer.echo(f"  {name}")

    run(main(), debug=settings.debug)


def operations_wait(
    ctx: typer.Context,
    op_id: Annotated[str, typer.Argument(help="The operation id (op_...).")],
    project: ProjectOption = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait.")] = 3600.0,
) -> None:
    """Wait until an operation is Finished (exit 1 if it fails, is cancelled or times out)."""
    settings = settings_of(ctx)

    async def main() -> None:
        async with make_client(settings) as client:
            handle = await open_project(client, project)
            with WaitSpinner(f"waiting for {op_id}") as spinner:
                op = await handle.operations.wait_until_done(
                    op_id, timeout, on_poll=spinner.on_poll
                )
            typer.echo(json.dumps({"id": op.id, "kind": op.kind, "status": op.status.overview}))

    run(main(), debug=settings.debug)
