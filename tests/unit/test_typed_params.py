"""Request dicts are typed: a misspelt key in a dict literal is a type error under mypy, and
the same dicts work at run time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
from nexus_async import Project

async def use(project: Project) -> None:
    await project.assets.update("a.png", {"status": "Annotated", "custom_metadata": {"k": 1}})
    await project.assets.list({"limit": 5}, {"groups": ["main"]})
    await project.annotations.create_export({"format": "coco", "options": {"seed": 7}})
    await project.assets.update("a.png", {"stauts": "Annotated"})  # the typo
"""


def test_a_misspelt_request_key_is_a_type_error(tmp_path: Path) -> None:
    script = tmp_path / "user_code.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, done.stdout
    assert ":8:" in errors[0]  # the typo's line, and only it
    assert "AssetUpdateParams" in errors[0]
