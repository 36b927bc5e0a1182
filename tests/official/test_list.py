"""The official client's list commands (GraphQL `/admin/gql`) against a live node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import NodeProcess, backend_ai, run_bai

pytestmark = pytest.mark.official


def test_vfolder_list(official_cli: Path, live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    for name, mode in (("gql-alpha", "general"), ("gql-beta", "model")):
        assert run_bai("vfolder", "create", name, "-m", mode, env=env).returncode == 0
    res = backend_ai(official_cli, env, tmp_path, "vfolder", "list")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "gql-alpha" in out and "gql-beta" in out and "Traceback" not in out
    header = next(line for line in res.stdout.splitlines() if "Name" in line)
    assert header.index("Host") < header.index("Name") < header.index("Status")

    res = backend_ai(
        official_cli,
        env,
        tmp_path,
        "--output",
        "json",
        "vfolder",
        "list",
        "--filter",
        'name like "gql-%" & status == "READY"',
        "--order",
        "-name",
    )
    doc = json.loads(res.stdout)
    assert [i["name"] for i in doc["items"]] == ["gql-beta", "gql-alpha"]
    assert doc["items"][0]["host"] == "local" and doc["items"][0]["status"] == "ready"

    res = backend_ai(
        official_cli,
        env,
        tmp_path,
        "--output",
        "json",
        "vfolder",
        "list",
        "--filter",
        'name == "gql-alpha" | name == "gql-beta"',
    )
    assert json.loads(res.stdout)["total_count"] == 2

    res = backend_ai(official_cli, env, tmp_path, "vfolder", "list", "--filter", "name ===")
    assert res.returncode != 0 and "filter" in res.stdout + res.stderr


def test_admin_storage(official_cli: Path, live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    res = backend_ai(official_cli, env, tmp_path, "admin", "storage", "list")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "local" in res.stdout and "vfs" in res.stdout
    res = backend_ai(official_cli, env, tmp_path, "admin", "storage", "info", "local")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "vfs" in res.stdout and "capacity_bytes" in res.stdout
