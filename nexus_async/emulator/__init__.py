"""A local emulator of the Datature Nexus API (Starlette), for offline development and tests.

Three ways to run it:

* in-process: ``app = create_app(EmulatorConfig())`` with ``httpx.ASGITransport(app)``;
  the control object is ``app.state.emulator`` (an :class:`Emulator`);
* a real server on ``127.0.0.1``: ``with EmulatorServer() as server: server.base_url``;
* command line: ``python -m nexus_async.emulator`` (prints one JSON line when ready).

The emulator is written from the wire specification only and imports nothing from the SDK.
"""

from nexus_async.emulator.app import create_app
from nexus_async.emulator.clock import Clock, ManualClock, SystemClock
from nexus_async.emulator.config import EmulatorConfig, RateLimitConfig, TimingConfig
from nexus_async.emulator.core import Emulator
from nexus_async.emulator.faults import ConnectionDropped
from nexus_async.emulator.server import AsyncEmulatorControl, EmulatorControl, EmulatorServer

__all__ = [
    "AsyncEmulatorControl",
    "Clock",
    "ConnectionDropped",
    "Emulator",
    "EmulatorConfig",
    "EmulatorControl",
    "EmulatorServer",
    "ManualClock",
    "RateLimitConfig",
    "SystemClock",
    "TimingConfig",
    "create_app",
]
