"""The domain imports no web, UI or SSH framework; clients never import the server."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import bai

PACKAGE = Path(bai.__file__).parent
FRAMEWORKS = {"litestar", "textual", "asyncssh", "uvicorn"}
TRANSPORT_DIRS = {"server", "tui", "cli", "agent"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_imports_no_framework() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in TRANSPORT_DIRS or rel.name in ("main.py", "__main__.py"):
            continue
        bad = {n for n in _imports(path) if n.split(".")[0] in FRAMEWORKS}
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert offenders == []


def test_clients_do_not_import_server() -> None:
    offenders = []
    for sub in ("cli", "tui", "client"):
        for path in (PACKAGE / sub).rglob("*.py"):
            bad = {n for n in _imports(path) if n.startswith(("bai.server", "bai.db", "litestar"))}
            if bad:
                offenders.append(f"{path.relative_to(PACKAGE)}: {sorted(bad)}")
    assert offenders == []


TRANSPORTS = {
    "bai.server.http": "server/http",
    "bai.server.sftp": "server/sftp",
    "bai.agent": "agent",
}


def test_transports_import_no_other_transport() -> None:
    """HTTP, SFTP and the session agent attach to a running node side by side; none of them
    may reach into another (the node, not a transport, owns what they share)."""
    offenders = []
    for module, sub in TRANSPORTS.items():
        others = tuple(m for m in TRANSPORTS if m != module)
        for path in (PACKAGE / sub).rglob("*.py"):
            bad = {n for n in _imports(path) if n.startswith(others)}
            if bad:
                offenders.append(f"{path.relative_to(PACKAGE)}: {sorted(bad)}")
    assert offenders == []
    assert list((PACKAGE / "server/http").rglob("*.py")), "the HTTP transport moved?"


def test_node_starts_no_transport() -> None:
    node = _imports(PACKAGE / "node.py")
    assert not {n for n in node if n.startswith(("bai.server", "bai.agent", "litestar"))}


def test_import_linter_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    res = subprocess.run([exe], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "broken" in res.stdout and "0 broken" in res.stdout
