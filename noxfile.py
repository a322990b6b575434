"""Developer tasks: `nox -s tests`, `nox -s lint`, `nox -s typecheck` (the CI set)."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = False

PACKAGE = "nexus_async"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (unit tests with respx, and end-to-end tests on the emulator)."""
    session.install("-e", ".[emulator,dev]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check on the whole tree."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[emulator,dev]")
    session.run("mypy", PACKAGE)
