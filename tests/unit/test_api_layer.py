"""The wire structs stand alone, and the CLI speaks through the typed client only."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import msgspec

import bai
from bai import api

PACKAGE = Path(bai.__file__).parent
STDLIB = set(sys.stdlib_module_names)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_api_imports_only_enums_errors_and_msgspec() -> None:
    allowed = ("bai.api", "bai.enums", "bai.errors", "msgspec")
    offenders = [
        f"{path.name}: {name}"
        for path in (PACKAGE / "api").glob("*.py")
        for name in _imports(path)
        if name.split(".")[0] not in STDLIB and not name.startswith(allowed)
    ]
    assert offenders == []


def test_clients_import_no_domain() -> None:
    banned = ("bai.access", "bai.accounts", "bai.folders", "bai.hosts", "bai.storage")
    offenders = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for sub in ("cli", "client")
        for path in (PACKAGE / sub).glob("*.py")
        for name in _imports(path)
        if name.startswith(banned)
    ]
    assert offenders == []


def test_no_command_builds_a_url() -> None:
    route = re.compile(r"""["'](/folders|/admin|/tasks|/upload|/download)\b|\?token=""")
    offenders = [
        f"{path.name}:{n}"
        for path in (PACKAGE / "cli").glob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if route.search(line)
    ]
    assert offenders == []


def test_every_struct_is_exported_and_round_trips() -> None:
    structs = [
        getattr(api, n)
        for n in api.__all__
        if isinstance(getattr(api, n), type) and issubclass(getattr(api, n), msgspec.Struct)
    ]
    assert len(structs) > 40
    for kind in structs:
        # Every struct has a JSON schema msgspec can make: its fields are all wire types.
        msgspec.json.schema(kind)


def test_folder_info_keeps_backend_ai_keys() -> None:
    keys = {f.encode_name for f in msgspec.structs.fields(api.FolderInfo)}
    # The official CLI's `vfolder info` reads these; `numFiles` is its camelCase spelling.
    assert {"name", "id", "is_owner", "permission", "status", "numFiles", "type"} <= keys
    assert {"group", "user", "cloneable", "usage_mode", "folder_permission"} <= keys
