"""Fixtures shared by the whole suite."""

from __future__ import annotations

import anyio.lowlevel
import pytest

from nexus_async import _retry


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the SDK's retry and poll sleeps instead of sleeping, so tests run fast."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)
        await anyio.lowlevel.checkpoint()  # still let other tasks run, as a real sleep does

    monkeypatch.setattr(_retry, "_sleep", fake_sleep)
    return recorded


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up the developer's real key or endpoint from the environment."""
    monkeypatch.delenv("NEXUS_SECRET_KEY", raising=False)
    monkeypatch.delenv("DATATURE_API_BASE_URL", raising=False)
