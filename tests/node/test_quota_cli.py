"""`bai admin quota-scope`, `bai admin reconcile` and `bai vfolder status` against a live node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import NodeProcess, run_bai

pytestmark = pytest.mark.node


def test_quota_scope_commands(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    assert run_bai("admin", "user", "create", "quota-cli@example.com", env=env).returncode == 0
    res = run_bai(
        "admin", "quota-scope", "set", "local", "quota-cli@example.com", "2m", "-o", "json", env=env
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["limit_bytes"] == 2 << 20
    res = run_bai("admin", "quota-scope", "get", "local", "quota-cli@example.com", env=env)
    assert "2.0 MiB" in res.stdout and "the node" in res.stdout
    res = run_bai("admin", "quota-scope", "set", "local", "quota-cli@example.com", "lots", env=env)
    assert res.returncode == 65 and "as a size" in res.stderr
    res = run_bai(
        "admin", "quota-scope", "unset", "local", "quota-cli@example.com", "-o", "json", env=env
    )
    assert json.loads(res.stdout)["limit_bytes"] == 0
    res = run_bai("admin", "quota-scope", "get", "local", "ghost@example.com", env=env)
    assert res.returncode == 66 and "no user or project" in res.stderr


def test_over_quota_upload_is_one_clear_error(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    res = run_bai("admin", "user", "create", "tight@example.com", "-o", "json", env=env)
    kp = json.loads(res.stdout)["keypair"]
    user = {**env, "BACKEND_ACCESS_KEY": kp["access_key"], "BACKEND_SECRET_KEY": kp["secret_key"]}
    assert run_bai("vfolder", "create", "tight", env=user).returncode == 0
    assert (
        run_bai(
            "admin", "quota-scope", "set", "local", "tight@example.com", "1m", env=env
        ).returncode
        == 0
    )
    (tmp_path / "big.bin").write_bytes(b"x" * (2 << 20))
    res = run_bai("vfolder", "upload", "tight", "big.bin", env=user, cwd=tmp_path)
    assert res.returncode == 73 and "quota exceeded" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_bai("vfolder", "status", "-o", "json", env=user)
    status = json.loads(res.stdout)
    local = status["hosts"][0]
    assert local["user"]["limit_bytes"] == 1 << 20 and local["user"]["used_bytes"] == 0
    assert status["folders"]["created"] == 1
    res = run_bai("vfolder", "status", env=user)
    assert "1 created" in res.stdout and "1.0 MiB" in res.stdout


def test_reconcile_command(live_node: NodeProcess) -> None:
    env = live_node.client_env()
    assert run_bai("vfolder", "create", "recon", env=env).returncode == 0
    res = run_bai("admin", "reconcile", "--folder", "recon", env=env)
    assert res.returncode == 0 and "corrected +0 files" in res.stdout
