"""Running the emulator's command line in a child process, as a user would."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def emulator_command(*args: str) -> Iterator[dict[str, Any]]:
    """Run ``python -m <args>`` (an emulator command), yield the JSON line it prints when
    ready, then stop it with SIGTERM and check that it exits cleanly (status 0).

    Example::

        with emulator_command("nexus_async.emulator", "--no-rate-limit") as info:
            httpx.get(info["base_url"] + "/workspace", headers={"Secret-Key": info["secret_key"]})
    """
    process = subprocess.Popen(
        [sys.executable, "-m", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        info: dict[str, Any] = json.loads(process.stdout.readline())
        assert info["base_url"].startswith("http://127.0.0.1:")
        yield info
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
