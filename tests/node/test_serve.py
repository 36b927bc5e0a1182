"""`bai serve` as a real process: zero-config start, restart, bad config, shutdown."""

from __future__ import annotations

import json
import signal
import socket
import stat
from pathlib import Path

import httpx
import pytest

from tests.harness import NodeProcess, run_bai

pytestmark = pytest.mark.node


def test_zero_config_start_creates_everything(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "bai-data", cwd=tmp_path, pass_data_dir=False).start()
    try:
        data = tmp_path / "bai-data"
        for name in ("bai.db", "node.secret", "client.env", "node.toml"):
            assert (data / name).is_file(), name
        assert (data / "volumes/local").is_dir()
        for secret_file in ("client.env", "node.secret"):
            assert stat.S_IMODE((data / secret_file).stat().st_mode) == 0o600
        env = node.client_env()
        assert env["BACKEND_ENDPOINT"] == node.endpoint
        assert env["BACKEND_ENDPOINT_TYPE"] == "api"
        assert env["BACKEND_ACCESS_KEY"].startswith("AKIA")
        out = "".join(node.output)
        assert f"listening on {node.endpoint}" in out
        assert str(data / "client.env") in out
        assert env["BACKEND_SECRET_KEY"] not in out  # secrets never in logs
        assert httpx.get(node.endpoint + "/").json()["version"] == "v7.20230615"
        # With no settings at all, the CLI finds ./bai-data/client.env by itself.
        res = run_bai("vfolder", "list-hosts", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert "Default vfolder host: local" in res.stdout
    finally:
        assert node.stop() == 0
    assert "node stopped" in "".join(node.output)


def test_restart_keeps_users_keys_and_settings(tmp_path: Path) -> None:
    data = tmp_path / "bai-data"
    node = NodeProcess(data).start()
    env = node.client_env()
    res = run_bai("admin", "user", "create", "keep@example.com", "-o", "json", env=env)
    assert res.returncode == 0, res.stderr
    user_kp = json.loads(res.stdout)["keypair"]
    res = run_bai(
        "admin", "resource-policy", "set", "user", "default", "--max-vfolder-count", "7", env=env
    )
    assert res.returncode == 0, res.stderr
    assert node.stop(signal.SIGINT) == 0

    node = NodeProcess(data).start()
    try:
        env2 = node.client_env()
        assert env2["BACKEND_ACCESS_KEY"] == env["BACKEND_ACCESS_KEY"]
        assert env2["BACKEND_SECRET_KEY"] == env["BACKEND_SECRET_KEY"]
        assert "created superadmin" not in "".join(node.output)
        res = run_bai("admin", "user", "list", "-o", "json", env=env2)
        assert "keep@example.com" in [u["email"] for u in json.loads(res.stdout)["users"]]
        res = run_bai("admin", "resource-policy", "list", "--kind", "user", "-o", "json", env=env2)
        assert json.loads(res.stdout)["policies"][0]["max_vfolder_count"] == 7
        user_env = {
            **env2,
            "BACKEND_ACCESS_KEY": user_kp["access_key"],
            "BACKEND_SECRET_KEY": user_kp["secret_key"],
        }
        res = run_bai("vfolder", "list-hosts", env=user_env)
        assert res.returncode == 0 and "Usable hosts: local" in res.stdout
    finally:
        node.stop()


BAD_CONFIGS = [
    ("[server]\nport = 'eighty'\n", "server.port"),
    ("[volume.fast]\nbackend = 'zfs'\npath = '/srv'\n", "volume.fast.backend"),
    ("[server]\nhost = '127.0.0.1'\nbogus = 1\n", "server.bogus"),
    ("[volume.local]\nbackend = 'vfs'\npath = '/proc/nope'\n", "volume.local.path"),
]


@pytest.mark.parametrize(("text", "key"), BAD_CONFIGS)
def test_bad_config_fails_clearly_and_creates_nothing(tmp_path: Path, text: str, key: str) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text(text)
    data = tmp_path / "fresh-data"
    res = run_bai("serve", "--config", str(cfg), "--data-dir", str(data), "--port", "0")
    assert res.returncode == 78, res.stdout + res.stderr
    assert str(cfg) in res.stderr and key in res.stderr
    assert "Traceback" not in res.stderr
    assert not data.exists()


def test_broken_config_in_existing_data_dir_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "bai-data"
    NodeProcess(data).start().stop()
    before = {p.name: p.stat().st_mtime_ns for p in data.iterdir()}
    (data / "node.toml").write_text("[server\n")
    before["node.toml"] = (data / "node.toml").stat().st_mtime_ns
    res = run_bai("serve", "--data-dir", str(data), "--port", "0")
    assert res.returncode == 78
    assert "node.toml: not valid TOML" in res.stderr
    assert {p.name: p.stat().st_mtime_ns for p in data.iterdir()} == before


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = run_bai("serve", "--data-dir", str(tmp_path / "d"), "--port", str(port))
    assert res.returncode == 78
    assert f"cannot listen on 127.0.0.1:{port}" in res.stderr
