"""The ``nexus-async`` command against a real emulator on 127.0.0.1 (typer's CliRunner).

Output is not a terminal here, so no progress bars are drawn: stdout holds the results only.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nexus_async import AsyncClient
from nexus_async.cli import app
from nexus_async.emulator import EmulatorConfig
from nexus_async.emulator.config import TimingConfig
from nexus_async.testing import EmulatorServer
from nexus_async.uploads.asset_session import UploadProgress
from tests.media import write_image_tree
from tests.processes import emulator_command


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig()) as server:
        yield server


@pytest.fixture
def env(server: EmulatorServer) -> dict[str, str | None]:
    """Credentials through the environment, as a user would set them."""
    return {
        "NEXUS_SECRET_KEY": server.secret_key,
        "DATATURE_API_BASE_URL": server.base_url,
        "NEXUS_PROJECT_ID": None,
    }


def invoke(args: list[str], env: dict[str, str | None]) -> Result:
    return CliRunner().invoke(app, args, env=env)


def asset_count(server: EmulatorServer) -> int:
    async def count() -> int:
        async with AsyncClient(server.secret_key, endpoint=server.base_url) as client:
            assert server.project_id is not None
            info = await client.get_project(server.project_id).get_info()
            return info.statistic.total_assets

    return asyncio.run(count())


def test_help_and_version() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("upload", "import", "export", "operations", "emulator", "demo"):
        assert command in result.stdout
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("nexus-async ")


def test_upload_then_resume_skips_everything(
    server: EmulatorServer, env: dict[str, str | None], tmp_path: Path
) -> None:
    write_image_tree(tmp_path / "images", 12, depth=2)
    result = invoke(["upload", str(tmp_path / "images"), "--group", "cli"], env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Uploaded 12 files (")
    assert server.project_id in result.stdout
    assert asset_count(server) == 12

    again = invoke(["upload", str(tmp_path / "images"), "--resume", "-c", "4"], env)
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("Uploaded 0 files (0 B) to ")
    assert "skipped 12 already uploaded" in again.stdout
    assert asset_count(server) == 12


def test_flags_instead_of_environment(server: EmulatorServer, tmp_path: Path) -> None:
    write_image_tree(tmp_path, 2, depth=0)
    assert server.secret_key is not None
    assert server.project_id is not None
    args = ["--secret-key", server.secret_key, "--endpoint", server.base_url, "upload"]
    result = invoke([*args, str(tmp_path), "--project", server.project_id], {})
    assert result.exit_code == 0, result.output
    assert "Uploaded 2 files" in result.stdout


def test_background_upload_then_operations_wait(env: dict[str, str | None], tmp_path: Path) -> None:
    write_image_tree(tmp_path, 3, depth=0)
    result = invoke(["upload", str(tmp_path), "--background"], env)
    assert result.exit_code == 0, result.output
    op_ids = [
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("operation ")
    ]
    assert op_ids
    waited = invoke(["operations", "wait", op_ids[0]], env)
    assert waited.exit_code == 0, waited.output
    assert waited.stdout.startswith(f"Operation {op_ids[0]} (nexus.assets.upload) Finished after ")
    waited = invoke(["operations", "wait", op_ids[0], "--json"], env)
    assert waited.exit_code == 0, waited.output
    document = json.loads(waited.stdout)
    assert (document["id"], document["status"]) == (op_ids[0], "Finished")


def test_import_and_export(env: dict[str, str | None], tmp_path: Path) -> None:
    write_image_tree(tmp_path / "images", 4, depth=0)
    assert invoke(["upload", str(tmp_path / "images")], env).exit_code == 0
    labels = tmp_path / "boxes.csv"
    rows = ["filename,xmin,ymin,xmax,ymax,label"]
    rows += [f"img{i:04d}.png,0.1,0.1,0.5,0.5,boat" for i in range(4)]
    labels.write_text("\n".join(rows) + "\n")

    imported = invoke(["import", str(labels)], env)
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.startswith("Imported 4 annotations from 1 file(s)")

    out = tmp_path / "out"
    exported = invoke(["export", "--format", "csv_fourcorner", "--out", str(out)], env)
    assert exported.exit_code == 0, exported.output
    files = sorted(out.rglob("*.csv"))
    assert [f.name for f in files] == ["train.csv"]
    with files[0].open() as handle:
        assert len(list(csv.DictReader(handle))) == 4


def test_sdk_error_is_one_line_and_exit_1(env: dict[str, str | None], tmp_path: Path) -> None:
    result = invoke(["upload", str(tmp_path / "missing")], env)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_wrong_key_is_refused(env: dict[str, str | None]) -> None:
    result = invoke(["operations", "wait", "op_x"], {**env, "NEXUS_SECRET_KEY": "wrong"})
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ForbiddenError: 403")


def test_debug_shows_the_traceback(env: dict[str, str | None]) -> None:
    result = invoke(["--debug", "operations", "wait", "op_missing"], env)
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: NotFoundError")


def test_missing_key_and_usage_errors_exit_2(env: dict[str, str | None], tmp_path: Path) -> None:
    result = invoke(["upload", str(tmp_path)], {**env, "NEXUS_SECRET_KEY": None})
    assert result.exit_code == 2
    assert result.stderr == (
        "error: ConfigurationError: no secret key: pass --secret-key or set $NEXUS_SECRET_KEY\n"
    )
    assert invoke(["upload"], env).exit_code == 2  # no PATH
    assert invoke(["upload", str(tmp_path), "--concurrency", "0"], env).exit_code == 2
    assert invoke(["nonsense"], env).exit_code == 2


def test_bad_export_format_and_ambiguous_project(
    server: EmulatorServer, env: dict[str, str | None], tmp_path: Path
) -> None:
    result = invoke(["export", "--format", "nope", "--out", str(tmp_path)], env)
    assert result.exit_code == 2  # a usage error, refused before any request
    assert "'nope' is not one of 'coco', 'csv_fourcorner'" in result.stderr
    server.control.seed({"workspaces": [{"secret_key": "two", "projects": [{}, {}]}]})
    result = invoke(["export"], {**env, "NEXUS_SECRET_KEY": "two"})
    assert result.exit_code == 1
    assert "the workspace has 2 projects: choose one with --project" in result.stderr


def test_emulator_command_prints_its_json_line() -> None:
    with emulator_command("nexus_async.cli", "emulator", "--port", "0") as info:
        assert set(info) >= {"base_url", "secret_key", "workspace_id", "project_id"}


def test_demo(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--files", "20", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Uploaded 20 files" in result.stdout
    assert f"boxes in {tmp_path}\n" in result.stdout  # the folder it keeps
    assert f"files into {tmp_path / 'export'}\n" in result.stdout
    summary = result.stdout[result.stdout.index("Summary") :]
    assert "20 images uploaded" in summary
    assert "files/s" in summary
    assert len(list((tmp_path / "images").iterdir())) == 20
    assert sorted(p.name for p in (tmp_path / "export").rglob("*.csv")) == [
        "train.csv",
        "validate.csv",
    ]


BLOCK_CLI_PACKAGES = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("typer", "rich"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
"""


def test_library_imports_without_typer_or_rich() -> None:
    """The core works where the [cli] extra is not installed (httpx's own optional CLI
    tries these imports and copes). Simulated by refusing to import them."""
    code = BLOCK_CLI_PACKAGES + (
        "import nexus_async, nexus_async.testing\n"
        "from nexus_async import AsyncClient\n"
        "AsyncClient('key', endpoint='http://127.0.0.1:9')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_cli_without_the_cli_extra_fails_clearly() -> None:
    code = BLOCK_CLI_PACKAGES + "import nexus_async.cli\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0
    assert "typer" in out.stderr


def test_unexpected_error_is_one_line_with_a_hint(
    env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_async.cli import _commands

    async def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(_commands, "open_project", broken)
    result = invoke(["operations", "wait", "op_x"], env)
    assert result.exit_code == 1
    assert (
        result.stderr
        == "error: unexpected RuntimeError: boom (run with --debug for the traceback)\n"
    )


def test_progress_bars_on_a_terminal(env: dict[str, str | None], tmp_path: Path) -> None:
    """With a terminal the upload draws a rich bar (files, bytes, rate, ETA) instead of lines."""
    from nexus_async.cli._ui import UploadBar
    from nexus_async.uploads.asset_session import UploadProgress

    with UploadBar("uploading", live=True) as bar:
        assert bar._progress is not None
        bar(UploadProgress(files_total=4, files_done=2, bytes_total=4000, bytes_done=2000))
        task = bar._progress.tasks[0]
        assert (task.completed, task.total, task.fields["files"]) == (2000, 4000, "2/4 files")
        bar(UploadProgress(files_total=4, files_done=4, bytes_total=4000, bytes_done=4000))
        assert bar._progress.tasks[0].description == "ingesting"


def test_import_of_a_bad_file_fails_with_the_server_log(
    env: dict[str, str | None], tmp_path: Path
) -> None:
    labels = tmp_path / "boxes.csv"
    labels.write_text("filename,xmin,ymin,xmax,ymax,label\nmissing.png,0.1,0.1,0.2,0.2,boat\n")
    result = invoke(["import", str(labels)], env)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: AnnotationImportError: ")
    assert "Traceback" not in result.stderr


def test_a_wait_for_the_session_limit_shows_on_the_bar_and_as_a_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from nexus_async.cli._ui import UploadBar
    from nexus_async.uploads.asset_session import UploadProgress

    waiting = UploadProgress(files_total=4, bytes_total=4000, rate_limit_wait=212.4)
    with UploadBar("uploading", live=True) as bar:
        bar(waiting)
        assert bar._progress is not None
        assert bar._progress.tasks[0].description == ("waiting for the upload-session limit, 213 s")
        bar(UploadProgress(files_total=4, files_done=1, bytes_total=4000, bytes_done=1000))
        assert bar._progress.tasks[0].description == "uploading"
    with UploadBar("uploading", live=False) as plain:
        plain(waiting)
    assert capsys.readouterr().err.endswith(
        "uploading: waiting for the upload-session limit, 213 s\n"
    )


# --- issue 16, item 7: a CLI that feels native ----------------------------------------------

COMMANDS = [[], ["upload"], ["import"], ["export"], ["operations", "wait"], ["emulator"], ["demo"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_is_one_plain_style_without_type_labels(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith(f"Usage: nexus-async {' '.join(command)}".rstrip() + " [OPTIONS]")
    assert "\nOptions:\n" in text
    assert "<bool>" not in text
    options = text[text.index("\nOptions:\n") :].split("\nCommands:\n")[0]
    assert not re.search(r"<[a-z]", options)  # flags bare, values named (--project ID)
    assert "╭" not in text  # no rich panels: the same style as every other command
    if command and command != ["operations"]:
        assert "--json" in text


def test_choices_and_background_in_help() -> None:
    export = CliRunner().invoke(app, ["export", "--help"], terminal_width=200).stdout
    assert "-f, --format FORMAT" in export
    assert "Export format: coco, csv_fourcorner, csv_widthheight," in export
    assert "--background" in export
    assert "--operation OP_ID" in export
    assert "--background" in CliRunner().invoke(app, ["import", "--help"]).stdout
    emulator = CliRunner().invoke(app, ["emulator", "--help"], terminal_width=200).stdout
    assert "--timing [instant|realistic]" in emulator
    assert "--port PORT" in emulator
    assert "--no-rate-limit" in emulator


def test_emulator_options_reach_the_emulator() -> None:
    with emulator_command(
        "nexus_async.cli", "emulator", "--port", "0", "--secret-key", "mine", "--json"
    ) as info:
        assert info["secret_key"] == "mine"


def test_json_output_of_every_workspace_command(
    server: EmulatorServer, env: dict[str, str | None], tmp_path: Path
) -> None:
    write_image_tree(tmp_path / "images", 4, depth=0)
    uploaded = invoke(["upload", str(tmp_path / "images"), "--json"], env)
    assert uploaded.exit_code == 0, uploaded.output
    document = json.loads(uploaded.stdout)
    assert document["project_id"] == server.project_id
    assert (document["files"], document["skipped"], document["background"]) == (4, 0, False)
    assert document["bytes"] > 0
    assert document["seconds"] > 0
    assert document["bytes_per_second"] > 0
    assert len(document["operation_ids"]) == 1

    labels = tmp_path / "boxes.csv"
    rows = ["filename,xmin,ymin,xmax,ymax,label"]
    rows += [f"img{i:04d}.png,0.1,0.1,0.5,0.5,boat" for i in range(4)]
    labels.write_text("\n".join(rows) + "\n")
    imported = invoke(["import", str(labels), "--json"], env)
    assert imported.exit_code == 0, imported.output
    document = json.loads(imported.stdout)
    assert (document["files"], document["annotations"], document["status"]) == (
        1,
        4,
        "Finished",
    )

    exported = invoke(["export", "-f", "csv_fourcorner", "-o", str(tmp_path / "o"), "--json"], env)
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.stdout)
    assert document["operation_id"].startswith("op_")
    assert [Path(name).name for name in document["files"]] == ["train.csv"]
    assert Path(document["download_path"]) == tmp_path / "o"


def test_import_and_export_in_the_background(env: dict[str, str | None], tmp_path: Path) -> None:
    write_image_tree(tmp_path / "images", 2, depth=0)
    assert invoke(["upload", str(tmp_path / "images")], env).exit_code == 0
    labels = tmp_path / "boxes.csv"
    labels.write_text("filename,xmin,ymin,xmax,ymax,label\nimg0000.png,0.1,0.1,0.5,0.5,boat\n")
    imported = invoke(["import", str(labels), "--background"], env)
    assert imported.exit_code == 0, imported.output
    assert imported.stdout.startswith("Sent 1 file(s) to import session ")
    assert "the server processes them" in imported.stdout

    started = invoke(["export", "--format", "csv_fourcorner", "--background", "--json"], env)
    assert started.exit_code == 0, started.output
    op_id = json.loads(started.stdout)["operation_id"]
    started = invoke(["export", "--background"], env)
    assert started.exit_code == 0, started.output
    assert "nexus-async export --operation op_" in started.stdout
    assert re.search(r"^operation op_\S+$", started.stdout, re.M)

    out = tmp_path / "later"
    downloaded = invoke(["export", "--operation", op_id, "--out", str(out)], env)
    assert downloaded.exit_code == 0, downloaded.output
    assert downloaded.stdout.startswith(f"Downloaded the export ({op_id}) in ")
    assert [p.name for p in out.rglob("*.csv")] == ["train.csv"]


def test_ctrl_c_during_an_upload_says_what_was_sent_and_how_to_resume(
    env: dict[str, str | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SIGINT, as Ctrl-C sends it, after the third file is sent."""
    from nexus_async.cli._ui import UploadBar

    original = UploadBar.__call__

    def interrupting(self: UploadBar, progress: UploadProgress) -> None:
        original(self, progress)
        if progress.files_done == 3:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(UploadBar, "__call__", interrupting)
    write_image_tree(tmp_path, 12, depth=0)
    result = invoke(["upload", str(tmp_path), "-c", "1"], env)
    assert result.exit_code == 130, result.output
    match = re.fullmatch(
        r"interrupted: (\d+) of 12 files were sent; run the same command with --resume to "
        r"upload the rest \(files the project already holds are skipped\)\n",
        result.stderr,
    )
    assert match, result.stderr
    assert 3 <= int(match[1]) < 12
    monkeypatch.undo()
    resumed = invoke(["upload", str(tmp_path), "--resume"], env)
    assert resumed.exit_code == 0, resumed.output
    assert "Uploaded " in resumed.stdout


def test_ctrl_c_before_any_file_is_found_says_interrupted() -> None:
    from nexus_async.cli._ui import UploadBar

    assert UploadBar("uploading", live=False).interrupted() == ""


def test_ctrl_c_while_the_server_ingests_names_the_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_async.cli import _ui
    from nexus_async.cli._ui import UploadBar

    original = UploadBar.tick

    def interrupting(self: UploadBar) -> None:
        original(self)
        if self.session is not None and self.session.get_operation_ids():
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(UploadBar, "tick", interrupting)
    monkeypatch.setattr(_ui, "PLAIN_INTERVAL", 0.05)
    write_image_tree(tmp_path, 3, depth=0)
    slow = EmulatorConfig(timing=TimingConfig(processing_ms=60_000))
    with EmulatorServer(slow) as server:
        env = {"NEXUS_SECRET_KEY": server.secret_key, "DATATURE_API_BASE_URL": server.base_url}
        result = invoke(["upload", str(tmp_path)], {**env, "NEXUS_PROJECT_ID": None})
    assert result.exit_code == 130, result.output
    last = result.stderr.splitlines()[-1]
    assert re.fullmatch(
        r"interrupted: all 3 files were sent and the server goes on ingesting them; follow it "
        r"with: nexus-async operations wait op_\S+",
        last,
    ), result.stderr


# --- issue 16, item 4: honest progress output ------------------------------------------------


def test_redirected_upload_prints_periodic_lines_and_a_summary(
    env: dict[str, str | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a terminal: a plain line every PLAIN_INTERVAL (here 0.05 s) until the server
    has ingested the files, one when every file is sent, and the summary on stdout."""
    from nexus_async.cli import _ui

    monkeypatch.setattr(_ui, "PLAIN_INTERVAL", 0.05)
    write_image_tree(tmp_path, 6, depth=0)
    slow = EmulatorConfig(timing=TimingConfig(processing_ms=600))
    with EmulatorServer(slow) as server:
        env = {"NEXUS_SECRET_KEY": server.secret_key, "DATATURE_API_BASE_URL": server.base_url}
        result = invoke(["upload", str(tmp_path)], {**env, "NEXUS_PROJECT_ID": None})
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    line = re.compile(
        r"uploading: (preparing, (\d+ files found|finding the files)"
        r"|\d/6 files, \d+ B of \d+ B, [\d.]+ (B|kB|MB)/s"
        r"(; every file sent, the server is ingesting them \(\d+ s\))?)"
    )
    assert all(line.fullmatch(text) for text in lines), lines
    ingesting = [text for text in lines if "ingesting" in text]
    assert len(ingesting) >= 3  # 600 ms of ingestion, a line every 50 ms
    assert all(text.startswith("uploading: 6/6 files") for text in ingesting)
    summary = re.fullmatch(
        rf"Uploaded 6 files \(\d+ B\) to {server.project_id} in \d+\.\d s \([\d.]+ (B|kB)/s\)\n",
        result.stdout,
    )
    assert summary, result.stdout


def test_plain_lines_are_periodic_not_per_file(capsys: pytest.CaptureFixture[str]) -> None:
    """The callback alone prints nothing per file (no stale "1/300 files" line); each tick
    prints where the upload stands, and the moment every file is sent gets a line."""
    from nexus_async.cli._ui import UploadBar

    with UploadBar("uploading", live=False) as bar:
        bar(UploadProgress(files_total=4, files_done=1, bytes_total=4000, bytes_done=1000))
        bar(UploadProgress(files_total=4, files_done=2, bytes_total=4000, bytes_done=2000))
        assert capsys.readouterr().err == ""
        bar.tick()
        assert re.fullmatch(
            r"uploading: 2/4 files, 2\.0 kB of 4\.0 kB, [\d.]+ (kB|MB|GB)/s\n",
            capsys.readouterr().err,
        )
        bar(UploadProgress(files_total=4, files_done=4, bytes_total=4000, bytes_done=4000))
        assert capsys.readouterr().err.endswith(
            "; every file sent, the server is ingesting them (0 s)\n"
        )
        assert bar.summary(2.0) == {
            "files": 4,
            "bytes": 4000,
            "skipped": 0,
            "seconds": 2.0,
            "bytes_per_second": 2000.0,
        }


def render(bar: object) -> str:
    """The bar's current row, as a terminal would show it."""
    from rich.console import Console

    progress = bar._progress  # type: ignore[attr-defined]
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(progress.make_tasks_table(progress.tasks))
    return console.export_text()


def test_terminal_bar_knows_the_total_and_shows_ingestion_as_a_spinner() -> None:
    """Preparing: a spinner and the files found, no "0/? bytes". As soon as the session knows
    its totals (before the first file is sent) the bar has them. Ingesting: a spinner with the
    elapsed time instead of a bar with "ETA 0:00:00"."""
    from nexus_async.cli._ui import UploadBar

    client = AsyncClient("key", endpoint="http://127.0.0.1:9")
    session = client.get_project("proj_x").assets.create_upload_session()
    with UploadBar("uploading", live=True) as bar:
        bar.attach(session)
        assert bar._progress is not None
        bar.tick()
        row = render(bar)
        assert "preparing" in row
        assert "?" not in row
        assert "━" not in row
        session.progress.files_total, session.progress.bytes_total = 4, 4000
        bar.tick()  # the session knows its totals: no file sent yet
        task = bar._progress.tasks[0]
        assert (task.total, task.fields["files"], task.description) == (
            4000,
            "0/4 files",
            "uploading",
        )
        assert "0/4 files" in render(bar)
        assert "0.0/4.0 kB" in render(bar)
        bar(UploadProgress(files_total=4, files_done=4, bytes_total=4000, bytes_done=4000))
        row = render(bar)
        assert "ingesting" in row
        assert "4 files sent (4.0 kB)" in row
        assert "━" not in row
        assert "kB/s" not in row
        assert "-:--:--" not in row
        assert re.search(r"0:00:0\d", row)  # the elapsed time of the ingestion


def test_demo_without_workdir_prints_no_folder_it_deletes() -> None:
    """Issue 16, item 9: the temporary folder is removed at the end, so it is not printed;
    with --json stdout is the summary alone (the steps go to stderr)."""
    result = CliRunner().invoke(app, ["demo", "--files", "5", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["files"], summary["exported_files"]) == (5, ["train.csv", "validate.csv"])
    assert "in a temporary folder (kept with --workdir DIR)" in result.stderr
    assert "nexus-demo-" not in result.output
    assert "Exported and downloaded 2 files\n" in result.stderr


def test_waits_print_a_plain_line_periodically(capsys: pytest.CaptureFixture[str]) -> None:
    from nexus_async.cli._ui import WaitSpinner

    with WaitSpinner("exporting", live=False) as spinner:
        spinner.tick()
        spinner.update("Running (0 finished, 1 running, 0 queued)")
        spinner.tick()
    assert capsys.readouterr().err == (
        "exporting: 0 s\nexporting: Running (0 finished, 1 running, 0 queued), 0 s\n"
    )
