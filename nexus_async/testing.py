"""Testing helpers for users of ``nexus_async``: a local emulator server and a pytest fixture.

Enable the fixture with ``pytest_plugins = ["nexus_async.testing"]``, then::

    def test_upload(nexus_emulator):
        client = AsyncClient(nexus_emulator.secret_key, endpoint=nexus_emulator.base_url)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nexus_async.emulator import EmulatorConfig, EmulatorControl, EmulatorServer

__all__ = ["EmulatorConfig", "EmulatorControl", "EmulatorServer", "nexus_emulator"]


@pytest.fixture
def nexus_emulator() -> Iterator[EmulatorServer]:
    """A running emulator on 127.0.0.1 (fresh per test) with a default workspace and project."""
    with EmulatorServer(EmulatorConfig()) as server:
        yield server
