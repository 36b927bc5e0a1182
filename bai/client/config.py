"""Provides client settings: the official client's BACKEND_* variables, or a client.env."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bai.errors import ConfigError

ENV_FILE = "client.env"


@dataclass(frozen=True)
class ClientConfig:
    endpoint: str
    access_key: str
    secret_key: str
    domain: str = "default"

    def __repr__(self) -> str:  # never print the secret
        return f"ClientConfig(endpoint={self.endpoint!r}, access_key={self.access_key!r})"


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if sep:
            values[key.strip()] = value.strip().strip("'\"")
    return values


def _get(env: Mapping[str, str], name: str) -> str | None:
    # The official client falls back to the legacy SORNA_* names.
    return env.get(f"BACKEND_{name}") or env.get(f"SORNA_{name}") or None


def load_client_config(
    data_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> ClientConfig:
    """An explicit data dir wins; then BACKEND_* variables; then $BAI_DATA_DIR or ./bai-data."""
    env = os.environ if environ is None else environ
    source: Mapping[str, str] = env
    where = "the environment"
    candidate = data_dir
    if candidate is None and not _get(env, "ACCESS_KEY"):
        candidate = Path(env.get("BAI_DATA_DIR") or "bai-data")
    if candidate is not None:
        path = candidate / ENV_FILE
        if path.is_file():
            source, where = read_env_file(path), str(path)
        elif data_dir is not None:
            raise ConfigError(f"{path}: no such file; is {data_dir} a bai data directory?")
    endpoint = _get(source, "ENDPOINT")
    access, secret = _get(source, "ACCESS_KEY"), _get(source, "SECRET_KEY")
    if not (endpoint and access and secret):
        raise ConfigError(
            f"no node credentials in {where}: set BACKEND_ENDPOINT, BACKEND_ACCESS_KEY and "
            "BACKEND_SECRET_KEY (or `source bai-data/client.env`, or pass --data-dir)"
        )
    # Several comma-separated endpoints are allowed by the official client; we use the first.
    endpoint = endpoint.split(",")[0].strip().rstrip("/")
    return ClientConfig(endpoint, access, secret, _get(source, "DOMAIN") or "default")
