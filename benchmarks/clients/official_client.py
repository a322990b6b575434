"""The official ``datature==1.12.2`` SDK, unchanged, pointed at the emulator.

Runs in datature's own venv. ``DATATURE_API_BASE_URL`` is set before ``datature.nexus`` is
imported (the SDK reads it at import time). Uploads use the documented foreground session:
``with project.assets.create_upload_session() as session: session.add_path(...)``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import _common


def import_sdk() -> Any:
    """Import the SDK's entry point (what ``from datature.nexus import Client`` costs)."""
    return importlib.import_module("datature.nexus")


def upload(spec: dict[str, Any], nexus: Any) -> list[str]:
    """Upload every path of the spec in one foreground session; return its operation ids."""
    project = nexus.Client(spec["secret_key"]).get_project(spec["project_id"])
    session = project.assets.create_upload_session(groups=["main"], show_progress=False)
    with session:
        _common.mark_first("t_add_path")
        for path in spec["paths"]:
            session.add_path(path)
    return [str(op_id) for op_id in session.get_operation_ids()]


def main() -> None:
    """Run the workload named by the spec."""
    spec = _common.read_spec()
    if spec.get("base_url"):
        os.environ["DATATURE_API_BASE_URL"] = spec["base_url"]
    if spec["workload"] == "import":
        _common.emit(_common.measure_import(import_sdk))
        return
    nexus = import_sdk()
    _common.emit(_common.measure_upload(lambda: upload(spec, nexus)))


if __name__ == "__main__":
    main()
