"""Architecture checks: the emulator never imports the SDK, and the state layer has no HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import nexus_async.emulator

PACKAGE = Path(nexus_async.emulator.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_emulator_imports_nothing_from_the_sdk() -> None:
    modules = list(PACKAGE.rglob("*.py"))
    assert len(modules) > 20
    for module in modules:
        for name in _imports(module):
            if name == "nexus_async" or name.startswith("nexus_async."):
                assert name.startswith("nexus_async.emulator"), (module, name)


def test_state_layer_has_no_http_types() -> None:
    for module in (PACKAGE / "state").rglob("*.py"):
        for name in _imports(module):
            root = name.split(".")[0]
            assert root not in {"starlette", "httpx", "uvicorn"}, (module, name)
            assert not name.startswith("nexus_async.emulator.routes"), (module, name)
