"""`bai admin` and `bai vfolder list-hosts` against a live node, as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import NodeProcess, run_bai

pytestmark = pytest.mark.node


def test_admin_workflow(live_node: NodeProcess) -> None:
    env = live_node.client_env()
    res = run_bai(
        "admin", "user", "create", "cli-user@example.com", "--full-name", "Cli User", env=env
    )
    assert res.returncode == 0, res.stderr
    assert "Access key: AKIA" in res.stdout and "Secret key: " in res.stdout
    assert "shown only now" in res.stdout

    res = run_bai("admin", "user", "list", "--output", "json", env=env)
    users = {u["email"]: u for u in json.loads(res.stdout)["users"]}
    assert users["cli-user@example.com"]["full_name"] == "Cli User"

    res = run_bai(
        "admin", "user", "update", "cli-user@example.com", "--role", "admin", "-o", "json", env=env
    )
    assert json.loads(res.stdout)["role"] == "admin"

    assert run_bai("admin", "project", "create", "cli-proj", env=env).returncode == 0
    res = run_bai(
        "admin", "project", "add-member", "cli-proj", "cli-user@example.com", "-o", "json", env=env
    )
    assert json.loads(res.stdout)["members"] == ["cli-user@example.com"]
    res = run_bai("admin", "project", "list", "-o", "json", env=env)
    assert "cli-proj" in [p["name"] for p in json.loads(res.stdout)["projects"]]
    res = run_bai(
        "admin",
        "project",
        "remove-member",
        "cli-proj",
        "cli-user@example.com",
        "-o",
        "json",
        env=env,
    )
    assert json.loads(res.stdout)["members"] == []

    res = run_bai("admin", "keypair", "create", "cli-user@example.com", "-o", "json", env=env)
    kp = json.loads(res.stdout)
    res = run_bai(
        "admin", "keypair", "list", "--user", "cli-user@example.com", "-o", "json", env=env
    )
    listing = json.loads(res.stdout)["keypairs"]
    assert kp["access_key"] in [k["access_key"] for k in listing]
    assert kp["secret_key"] not in res.stdout
    res = run_bai("admin", "keypair", "revoke", kp["access_key"], "-o", "json", env=env)
    assert json.loads(res.stdout)["is_active"] is False

    res = run_bai(
        "admin",
        "resource-policy",
        "set",
        "keypair",
        "cli-kp",
        "--host",
        "local=download-file,mount-in-session",
        "--max-concurrent-sftp-sessions",
        "3",
        "-o",
        "json",
        env=env,
    )
    assert res.returncode == 0, res.stderr
    pol = json.loads(res.stdout)
    assert pol["allowed_vfolder_hosts"] == {"local": ["mount-in-session", "download-file"]}
    res = run_bai(
        "admin",
        "resource-policy",
        "set",
        "keypair",
        "cli-kp",
        "--remove-host",
        "local",
        "-o",
        "json",
        env=env,
    )
    assert json.loads(res.stdout)["allowed_vfolder_hosts"] == {}
    res = run_bai("admin", "resource-policy", "list", env=env)
    assert "cli-kp" in res.stdout


def test_errors_are_messages_with_exit_codes(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    res = run_bai("admin", "user", "create", "not-an-email", env=env)
    assert res.returncode == 65
    assert "error:" in res.stderr and "not an e-mail address" in res.stderr
    assert "Traceback" not in res.stderr

    res = run_bai("admin", "keypair", "revoke", "AKIANOSUCH", env=env)
    assert res.returncode == 66 and "no keypair" in res.stderr

    res = run_bai(
        "admin", "resource-policy", "set", "user", "x", "--max-quota-scope-size", "lots", env=env
    )
    assert res.returncode == 65 and "cannot read 'lots' as a size" in res.stderr

    res = run_bai("--data-dir", str(tmp_path / "nowhere"), "vfolder", "list-hosts")
    assert res.returncode == 78 and "client.env: no such file" in res.stderr

    res = run_bai("vfolder", "list-hosts", cwd=tmp_path)  # no settings anywhere
    assert res.returncode == 78 and "BACKEND_ACCESS_KEY" in res.stderr

    down = {**env, "BACKEND_ENDPOINT": "http://127.0.0.1:1"}
    res = run_bai("vfolder", "list-hosts", env=down)
    assert res.returncode == 69 and "cannot reach the node" in res.stderr


def test_plain_user_gets_403_from_admin_commands(live_node: NodeProcess) -> None:
    env = live_node.client_env()
    res = run_bai("admin", "user", "create", "plain@example.com", "-o", "json", env=env)
    kp = json.loads(res.stdout)["keypair"]
    user_env = {
        **env,
        "BACKEND_ACCESS_KEY": kp["access_key"],
        "BACKEND_SECRET_KEY": kp["secret_key"],
    }
    res = run_bai("admin", "user", "list", env=user_env)
    assert res.returncode == 77 and "not an administrator" in res.stderr
    res = run_bai("vfolder", "list-hosts", "-o", "json", env=user_env)
    assert res.returncode == 0
    assert [h["host"] for h in json.loads(res.stdout)["hosts"]] == ["local"]


def test_data_dir_option_reads_client_env(live_node: NodeProcess) -> None:
    res = run_bai("--data-dir", str(live_node.data_dir), "vfolder", "list-allowed-types")
    assert res.returncode == 0 and "user, group" in res.stdout
