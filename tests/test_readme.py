"""Every code block of README.md runs against a real emulator on 127.0.0.1.

Conventions (the README states the first one to its readers):

* ```python blocks run in order, in one shared namespace, on one event loop; a block may use
  top-level ``await`` (compiled with ``PyCF_ALLOW_TOP_LEVEL_AWAIT``, as ``python -m asyncio``
  does). A block without ``await`` runs as a plain script, so it may call ``asyncio.run``.
* ```bash blocks: every line that starts with ``nexus-async`` runs through the CLI (typer's
  CliRunner), ``op_...`` standing for the last operation id the CLI printed; ``nexus-async
  emulator`` runs as a subprocess until it prints its JSON line. Install lines (``pip``) and
  ``nox`` sessions are not run here (they are CI's own commands); any other line fails the test.
* ```text blocks are sample output, not code.

The blocks run in a temporary directory holding ``images/`` (five small PNG files,
``img0000.png``...), ``boxes.csv`` (boxes for them) and ``scans/`` (``xray.dcm``, a DICOM
file, and ``brain.nii.gz``, a NIfTI volume), with ``NEXUS_SECRET_KEY``,
``DATATURE_API_BASE_URL`` and ``NEXUS_PROJECT_ID`` naming the emulator's default project.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nexus_async import AsyncClient
from nexus_async.cli import app
from nexus_async.emulator import EmulatorConfig
from nexus_async.testing import EmulatorServer
from tests.media import write_image_tree
from tests.medical import dicom_bytes, nifti_bytes
from tests.processes import emulator_command

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
NOT_RUN = ("pip install ", "nox -s ")


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README.read_text()) if lang == language]


@pytest.fixture
def workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, EmulatorServer]]:
    with EmulatorServer(EmulatorConfig()) as server:
        assert server.secret_key is not None
        assert server.project_id is not None
        monkeypatch.setenv("NEXUS_SECRET_KEY", server.secret_key)
        monkeypatch.setenv("DATATURE_API_BASE_URL", server.base_url)
        monkeypatch.setenv("NEXUS_PROJECT_ID", server.project_id)
        write_image_tree(tmp_path / "images", 5, depth=0)
        rows = [f"img{i:04d}.png,0.1,0.2,0.5,0.6,boat" for i in range(5)]
        (tmp_path / "boxes.csv").write_text(
            "filename,xmin,ymin,xmax,ymax,label\n" + "\n".join(rows)
        )
        (tmp_path / "scans").mkdir()
        (tmp_path / "scans" / "xray.dcm").write_bytes(dicom_bytes())
        (tmp_path / "scans" / "brain.nii.gz").write_bytes(nifti_bytes(gz=True))
        monkeypatch.chdir(tmp_path)
        yield tmp_path, server


def test_readme_has_the_commands_and_blocks() -> None:
    text = README.read_text()
    for command in ("nox -s demo", "nox -s tests", 'pip install "nexus-async[cli]"'):
        assert command in text
    assert "benchmarks/RESULTS.md" in text
    assert len(blocks("python")) >= 8


def test_python_blocks(workdir: tuple[Path, EmulatorServer]) -> None:
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    loop = asyncio.new_event_loop()
    try:
        for index, source in enumerate(blocks("python")):
            code = compile(
                source,
                f"README.md python block {index + 1}",
                "exec",
                flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            )
            if code.co_flags & inspect.CO_COROUTINE:
                loop.run_until_complete(eval(code, namespace))
            else:
                exec(code, namespace)
        clients = [v for v in namespace.values() if isinstance(v, AsyncClient)]
        assert clients
        for client in clients:
            loop.run_until_complete(client.aclose())
    finally:
        loop.close()
    assert (workdir[0] / "exports").is_dir()


def test_bash_blocks(workdir: tuple[Path, EmulatorServer]) -> None:
    env = {"NEXUS_PROJECT_ID": None}  # the CLI's default: the workspace's only project
    last_op = ""
    ran = 0
    for source in blocks("bash"):
        for line in source.splitlines():
            command = line.split("  #")[0].strip()
            if not command or command.startswith(NOT_RUN):
                continue
            assert command.startswith("nexus-async "), f"README command not covered: {line}"
            args = shlex.split(command)[1:]
            ran += 1
            if args[0] == "emulator":
                run_emulator(args)
                continue
            args = [last_op if arg == "op_..." else arg for arg in args]
            result = CliRunner().invoke(app, args, env=env)
            assert result.exit_code == 0, f"{command}: {result.output}"
            ops = re.findall(r"^operation (op_\S+)$", result.stdout, re.M)
            last_op = ops[-1] if ops else last_op
    assert ran >= 7


def run_emulator(args: list[str]) -> None:
    with emulator_command("nexus_async.cli", *args):
        pass


def test_the_python_blocks_pass_mypy_strict(tmp_path: Path) -> None:
    """A typed user copying the README gets no type errors (the blocks, as one script)."""
    import subprocess
    import sys
    import textwrap

    body = textwrap.indent("\n".join(blocks("python")), "    ")
    script = tmp_path / "readme_examples.py"
    script.write_text(f"async def readme_examples() -> None:\n{body}\n    pass\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
