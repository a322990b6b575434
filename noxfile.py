"""Developer tasks: `nox -s tests`, `nox -s lint`, `nox -s typecheck` (the CI set)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = False

PACKAGE = "nexus_async"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit tests with respx, and end-to-end tests on the emulator)."""
    session.install("-e", ".[emulator,medical,dev]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session
def reliability(session: nox.Session) -> None:
    """The reliability suite at full scale: 10,000 files through faults, 20 cancellation seeds."""
    session.install("-e", ".[emulator,dev]")
    session.env.update({"NEXUS_RELIABILITY_FILES": "10000", "NEXUS_RELIABILITY_SEEDS": "20"})
    session.run("pytest", "tests/e2e/reliability", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check on the whole tree."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package (with the medical extra, whose libraries it checks)."""
    session.install("-e", ".[emulator,medical,dev]")
    session.run("mypy", PACKAGE)


OFFICIAL_SDK = "datature==1.12.2"
EMULATOR_READY_SECONDS = 60.0
EMULATOR_STOP_SECONDS = 15.0


def _official_sdk_python() -> str | None:
    """The interpreter for datature's venv: it needs numpy<2, which has no wheels past 3.12.

    None (nox's own interpreter) when that is old enough, else the first working CPython
    3.12/3.11/3.10 on PATH (version shims that cannot run are passed over), else "3.12",
    which the uv backend downloads.
    """
    if sys.version_info < (3, 13):
        return None
    for version in ("3.12", "3.11", "3.10"):
        path = shutil.which(f"python{version}")
        probe = [path or "", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
        if path and subprocess.run(probe, capture_output=True, text=True).stdout.strip() == version:
            return path
    return "3.12"


def _venv_python(env_dir: Path) -> Path:
    """The interpreter of a virtual environment directory."""
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _find_uv() -> str | None:
    """The uv binary that `pip install nox uv` installed, if any."""
    try:
        import uv  # optional: present when installed with `pip install nox uv`

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def _emulator_python(session: nox.Session) -> Path:
    """A second venv with `-e .[emulator]`, so datature's venv holds nothing of ours."""
    env_dir = Path(session.cache_dir) / "interop-emulator-venv"
    python = _venv_python(env_dir)
    uv = _find_uv()
    if uv:
        venv = ["venv", "-q", "--allow-existing", "-p", sys.executable, str(env_dir)]
        session.run(uv, *venv, external=True)
        install = ["pip", "install", "-q", "-p", str(python), "-e", ".[emulator]"]
        session.run(uv, *install, external=True)
    else:
        if not python.exists():
            session.run(sys.executable, "-m", "venv", str(env_dir), external=True)
        install = ["-m", "pip", "install", "-q", "-e", ".[emulator]"]
        session.run(str(python), *install, external=True)
    return python


def _start_emulator(
    session: nox.Session, python: Path, log: IO[str]
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start `python -m nexus_async.emulator [posargs]`; read its JSON readiness line."""
    process = subprocess.Popen(
        [str(python), "-m", "nexus_async.emulator", *session.posargs],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        """Copy stdout to the queue and the log, so that the emulator never blocks on it."""
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
            log.write(line)
            log.flush()
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    try:
        info = json.loads(lines.get(timeout=EMULATOR_READY_SECONDS))
        required = ("base_url", "secret_key", "project_id")
        if not isinstance(info, dict) or not all(info.get(key) for key in required):
            raise ValueError(f"unexpected readiness line: {info!r}")
        host = urlsplit(info["base_url"]).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"emulator is not on loopback: {info['base_url']}")
    except (queue.Empty, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        _stop_emulator(process)
        log.flush()
        tail = Path(log.name).read_text().splitlines()[-5:]
        session.error(f"the emulator did not report readiness ({exc}): {' | '.join(tail)}")
    return process, info


def _stop_emulator(process: subprocess.Popen[str]) -> int:
    """SIGTERM the emulator, wait for it, kill it if it does not stop; return its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=EMULATOR_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@nox.session(python=_official_sdk_python())
def interop(session: nox.Session) -> None:
    """Interop proof: the official, unmodified datature client tours the local emulator.

    The session venv gets `datature==1.12.2` and nothing of ours; the emulator runs from a
    second venv (`-e .[emulator]`). `interop/official_tour.py` then makes every call of the
    seed docs, pointed at the emulator through DATATURE_API_BASE_URL, and fails the session if
    any step fails. Not in the default set: datature pulls ~700 MB of dependencies.
    Arguments after `--` go to the emulator, e.g. `nox -s interop -- --timing realistic`.
    """
    session.install(OFFICIAL_SDK)
    python = _emulator_python(session)
    log_path = Path(session.create_tmp()) / "emulator.log"
    with log_path.open("a") as log:
        process, info = _start_emulator(session, python, log)
        session.log(f"emulator ready at {info['base_url']} (log: {log_path})")
        try:
            session.run(
                "python",
                "interop/official_tour.py",
                env={
                    "DATATURE_API_BASE_URL": info["base_url"],
                    "NEXUS_SECRET_KEY": info["secret_key"],
                    "NEXUS_PROJECT_ID": info["project_id"],
                    "NEXUS_WORKSPACE_ID": info.get("workspace_id", ""),
                },
            )
        finally:
            code = _stop_emulator(process)
            session.log(f"emulator stopped (exit code {code})")


@nox.session(python=_official_sdk_python())
def bench(session: nox.Session) -> None:
    """Benchmarks: nexus_async vs the official SDK vs a minimal floor client (benchmarks/).

    Same two venvs as `interop`: this session's venv gets `datature==1.12.2` only (the official
    client runs there, unchanged); the orchestrator, the emulator (a real server on 127.0.0.1),
    nexus_async and the floor client run from the `-e .[emulator]` venv. Writes
    `benchmarks/RESULTS.md` and `benchmarks/results.json`. With 2+ cores the emulator runs on
    the first and each client on the second (the results say so). Not in the default set (a
    full run takes ~30 min, half of it P7's 200,000 files). `nox -s bench -- --quick` runs
    small sizes once; other arguments after `--` go to `python -m benchmarks.run` (see its
    --help).
    """
    session.install(OFFICIAL_SDK)
    official = _venv_python(Path(session.virtualenv.location))
    python = _emulator_python(session)
    command = [str(python), "-m", "benchmarks.run", "--official-python", str(official)]
    session.run(*command, *session.posargs, external=True)


@nox.session
def demo(session: nox.Session) -> None:
    """The whole SDK in under a minute: a local emulator, a few hundred generated images
    bulk-uploaded with progress bars, annotations imported, exported and downloaded.

    Same code as `nexus-async demo`; arguments after `--` go to it, e.g.
    `nox -s demo -- --files 1000 --workdir demo-out`.
    """
    session.install("-e", ".[cli,emulator]")
    session.run("nexus-async", "demo", *session.posargs)
