"""The official `backend.ai` CLI (23.9.10, own virtualenv) against a live node, unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import NodeProcess, backend_ai

pytestmark = pytest.mark.official


def test_list_hosts(official_cli: Path, live_node: NodeProcess, tmp_path: Path) -> None:
    res = backend_ai(official_cli, live_node.client_env(), tmp_path, "vfolder", "list-hosts")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Default vfolder host: local" in res.stdout
    assert "Usable hosts: local" in res.stdout


def test_list_allowed_types(official_cli: Path, live_node: NodeProcess, tmp_path: Path) -> None:
    res = backend_ai(
        official_cli, live_node.client_env(), tmp_path, "vfolder", "list-allowed-types"
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "['user', 'group']" in res.stdout


def test_wrong_secret_prints_the_nodes_401(
    official_cli: Path, live_node: NodeProcess, tmp_path: Path
) -> None:
    env = {**live_node.client_env(), "BACKEND_SECRET_KEY": "x" * 40}
    res = backend_ai(official_cli, env, tmp_path, "vfolder", "list-hosts")
    out = res.stdout + res.stderr
    assert res.returncode == 1
    assert "401" in out and "signature mismatch" in out


def test_unknown_key_prints_the_nodes_401(
    official_cli: Path, live_node: NodeProcess, tmp_path: Path
) -> None:
    env = {**live_node.client_env(), "BACKEND_ACCESS_KEY": "AKIANOSUCHKEY0000000"}
    res = backend_ai(official_cli, env, tmp_path, "vfolder", "list-hosts")
    assert res.returncode == 1
    assert "unknown access key" in res.stdout + res.stderr
