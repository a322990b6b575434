"""``nexus_async`` with its defaults (concurrency, chunk size, poll schedule).

The client-side session-creation wait is disabled (``upload_sessions_per_window=None``):
the emulator runs with ``--no-rate-limit`` and every run is a fresh project, except in P7,
where the emulator's scaled window (``--session-window-s``) is the only limit and the client
waits as the server's 429 ``Retry-After`` says (its own limiter knows only the real 300 s).
"""

from __future__ import annotations

import importlib
from typing import Any

import _common


def import_sdk() -> Any:
    """Import the package (what ``from nexus_async import AsyncClient`` costs)."""
    return importlib.import_module("nexus_async")


async def upload(spec: dict[str, Any], nexus: Any) -> list[str]:
    """Upload every path of the spec in one foreground session; return its operation ids."""
    async with nexus.AsyncClient(
        spec["secret_key"], endpoint=spec["base_url"], upload_sessions_per_window=None
    ) as client:
        project = client.get_project(spec["project_id"])
        session = project.assets.create_upload_session(groups=["main"])
        async with session:
            _common.mark_first("t_add_path")
            for path in spec["paths"]:
                await session.add_path(path)
        return list(session.get_operation_ids())


def main() -> None:
    """Run the workload named by the spec."""
    spec = _common.read_spec()
    if spec["workload"] == "import":
        _common.emit(_common.measure_import(import_sdk))
        return
    nexus = import_sdk()
    anyio = importlib.import_module("anyio")
    _common.emit(_common.measure_upload(lambda: anyio.run(upload, spec, nexus)))


if __name__ == "__main__":
    main()
