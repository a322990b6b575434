"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from hypothesis import settings

from nexus_async import _retry
from tests.virtual_clock import VirtualClock

# Hypothesis' per-example deadline is a timed assertion: on a shared, loaded machine a CRC of a
# few bytes once took 366 ms and failed. Speed is measured in benchmarks/, never asserted here.
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")


@pytest.fixture
def virtual_clock() -> VirtualClock:
    """Virtual time, injected into clients as ``AsyncClient(clock=virtual_clock.clock)``."""
    return VirtualClock()


@pytest.fixture
def sleeps(virtual_clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The SDK's retry, poll and rate-limit waits, recorded instead of slept.

    Clients made by the ``client`` fixtures get the clock injected. The parts that do not take
    the client's clock yet (the storage clients and upload polls that upload sessions build for
    themselves) wait through the fallback ``sleep``, pointed at the same clock here.
    """
    monkeypatch.setattr(_retry, "_sleep", virtual_clock.sleep)
    return virtual_clock.slept


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up the developer's real key or endpoint from the environment."""
    monkeypatch.delenv("NEXUS_SECRET_KEY", raising=False)
    monkeypatch.delenv("DATATURE_API_BASE_URL", raising=False)
