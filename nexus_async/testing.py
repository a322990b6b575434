"""Testing helpers for users of ``nexus_async``: a local emulator server and a pytest fixture.

The helpers need only the ``[emulator]`` extra; pytest is needed for the fixture alone. Enable
the fixture with ``pytest_plugins = ["nexus_async.testing"]``, then::

    def test_upload(nexus_emulator):
        client = AsyncClient(nexus_emulator.secret_key, endpoint=nexus_emulator.base_url)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

from nexus_async.emulator import (
    AsyncEmulatorControl,
    EmulatorConfig,
    EmulatorControl,
    EmulatorServer,
)

# The fixture ``nexus_emulator`` is defined below only when pytest is installed.
__all__ = ["AsyncEmulatorControl", "EmulatorConfig", "EmulatorControl", "EmulatorServer"]


def _emulator() -> Iterator[EmulatorServer]:
    """A running emulator on 127.0.0.1 (fresh per test) with a default workspace and project."""
    with EmulatorServer(EmulatorConfig()) as server:
        yield server


if importlib.util.find_spec("pytest") is not None:
    import pytest

    nexus_emulator = pytest.fixture(_emulator, name="nexus_emulator")
