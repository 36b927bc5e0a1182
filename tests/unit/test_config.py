"""node.toml errors name the file and the key; defaults need no file at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from bai.config import load_config, parse_config
from bai.errors import ConfigError


def test_defaults_without_file(tmp_path: Path) -> None:
    cfg = load_config(tmp_path / "data", None)
    assert cfg.port == 8090 and cfg.sftp_port == 2022 and cfg.host == "127.0.0.1"
    assert list(cfg.volumes) == ["local"]
    assert cfg.volumes["local"].path == tmp_path / "data" / "volumes/local"
    assert cfg.endpoint == "http://127.0.0.1:8090"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[server]\nport = 'x'", "server.port: expected an integer"),
        ("[server]\nport = 70000", "server.port: port must be between 0 and 65535"),
        ("[server]\nprot = 1", "server.prot: unknown setting"),
        ("[volume.a]\nbackend = 'zfs'\npath = 'x'", "volume.a.backend: unknown backend 'zfs'"),
        ("[volume.a]\nbackend = 'vfs'", "volume.a.path: a vfs volume needs a directory path"),
        ("[storage]\ndefault_host = 'nope'", "storage.default_host: names no volume"),
        ("[auth]\nthrottle_failures = 0", "auth.throttle_failures: must be at least 1"),
        ("[server\nport=1", "not valid TOML"),
        ("[server]\nport = true", "server.port: expected an integer, got True"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, source="/etc/bai/node.toml", data_dir=tmp_path)
    assert str(exc.value).startswith("/etc/bai/node.toml: ")
    assert needle in str(exc.value)
    assert exc.value.exit_code == 78


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path, tmp_path / "missing.toml")


def test_public_url_is_the_endpoint(tmp_path: Path) -> None:
    cfg = parse_config(
        "[server]\npublic_url = 'https://bai.example/'", source="x", data_dir=tmp_path
    )
    assert cfg.endpoint == "https://bai.example"
