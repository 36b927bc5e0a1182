"""Provides node start-up: data directory, database, bootstrap account, client.env."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from bai.accounts import AccountService, Bootstrap
from bai.config import DEFAULT_NODE_TOML, NodeConfig
from bai.db.engine import create_engine, migrate, sqlite_url
from bai.errors import ConfigError
from bai.folders.files import FileService
from bai.folders.quota import QuotaService
from bai.folders.service import FolderService
from bai.folders.status import StatusService
from bai.folders.tasks import TaskRunner
from bai.folders.tokens import TokenIssuer
from bai.folders.transfers import TransferService
from bai.folders.usage import UsageService
from bai.hosts import HostService
from bai.secrets import NodeSecret
from bai.server.services import NodeServices
from bai.storage import open_volumes
from bai.storage.registry import check_volume_configs
from bai.throttle import FailureThrottle

CLIENT_ENV = "client.env"


@dataclass
class StartedNode:
    services: NodeServices
    bootstrap: Bootstrap


def prepare_data_dir(config: NodeConfig) -> None:
    data = config.data_dir
    if data.exists() and not data.is_dir():
        raise ConfigError(f"{data}: data directory path exists and is not a directory")
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{data}: cannot create the data directory: {e.strerror}") from None
    node_toml = data / "node.toml"
    if config.source == node_toml and not node_toml.exists():
        node_toml.write_text(DEFAULT_NODE_TOML)


async def start_services(config: NodeConfig) -> StartedNode:
    """Everything `bai serve` does before it listens; config errors come before any write."""
    volumes_probe = {n: v.backend for n, v in config.volumes.items()}
    try:
        check_volume_configs(config.volumes.values())
        # Volumes first: if one cannot be made, the data directory is not touched either.
        volumes = await open_volumes(config.volumes)
    except ConfigError as e:
        raise ConfigError(f"{config.source}: {e.msg}") from None
    prepare_data_dir(config)
    secret = NodeSecret.load_or_create(config.data_dir / "node.secret")
    engine = create_engine(sqlite_url(config.data_dir / "bai.db"))
    try:
        await migrate(engine)
        accounts = AccountService(engine, secret)
        boot = await accounts.bootstrap(config.admin_email, volumes_probe)
    except BaseException:
        await engine.dispose()
        raise
    tasks = TaskRunner(engine, node_id(config.data_dir))
    quota = QuotaService(engine, volumes)
    folders = FolderService(engine, volumes, config.default_host, tasks, quota)
    tokens = TokenIssuer(secret.derive(b"transfer-tokens"))
    hosts = HostService(volumes, config.default_host)
    services = NodeServices(
        config=config,
        engine=engine,
        accounts=accounts,
        hosts=hosts,
        throttle=FailureThrottle(config.auth.throttle_failures, config.auth.throttle_window),
        tasks=tasks,
        folders=folders,
        files=FileService(engine, folders, tokens, config.endpoint, quota),
        transfers=TransferService(engine, folders, tokens),
        quota=quota,
        usage=UsageService(engine, volumes),
        status=StatusService(engine, hosts, quota),
    )
    return StartedNode(services, boot)


def node_id(data_dir: Path) -> str:
    """A stable id for this node, naming it as the claimer of background tasks."""
    path = data_dir / "node.id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex + "\n")
    return path.read_text().strip()


def write_client_env(config: NodeConfig, boot: Bootstrap) -> Path | None:
    """Write `client.env` at first start; afterwards keep its keys and refresh the endpoint.

    Returns None when the file was deleted after the first start: the admin secret is not
    recoverable (only its ciphertext is stored), so the node runs without rewriting it.
    """
    path = config.data_dir / CLIENT_ENV
    lines: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.removeprefix("export ").partition("=")
            if sep:
                lines[key.strip()] = value.strip()
    if boot.admin_keypair is not None:
        lines["BACKEND_ACCESS_KEY"] = boot.admin_keypair.access_key
        lines["BACKEND_SECRET_KEY"] = boot.admin_keypair.secret_key
    if "BACKEND_ACCESS_KEY" not in lines:
        return None
    lines["BACKEND_ENDPOINT"] = config.endpoint
    lines["BACKEND_ENDPOINT_TYPE"] = "api"
    order = [
        "BACKEND_ENDPOINT",
        "BACKEND_ACCESS_KEY",
        "BACKEND_SECRET_KEY",
        "BACKEND_ENDPOINT_TYPE",
    ]
    body = "".join(f"export {k}={lines[k]}\n" for k in order) + "".join(
        f"export {k}={v}\n" for k, v in lines.items() if k not in order
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(body)
    os.replace(tmp, path)
    return path
