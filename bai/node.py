"""Provides `Node`: one running node — its volumes, database, services and background loops.

A `Node` is an async context manager: entering it checks the configuration, opens the
volumes, prepares the data directory, migrates the database, creates the bootstrap account
and starts the background loops (task runner, usage watchers and reconcile, upload expiry);
leaving it stops them and closes the engine. Transports — the HTTP app, the SFTP server, the
session agent — are peers attached to a running node; none of them starts or stops services.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.access import Principal
from bai.accounts import AccountService, Bootstrap
from bai.accounts.ssh_keys import SshKeyService
from bai.cluster import NodeRegistry
from bai.cluster.notify import EventBridge
from bai.cluster.registry import VolumeDecl, check_secret
from bai.config import DEFAULT_NODE_TOML, NodeConfig
from bai.db.engine import create_engine, is_shared, migrate, sqlite_url, startup_lock
from bai.errors import ConfigError
from bai.folders.events import EventHub
from bai.folders.fileio import FileIO
from bai.folders.files import FileService
from bai.folders.filesystem import FolderFS
from bai.folders.imports import BucketImports
from bai.folders.moves import DirectoryMoves
from bai.folders.quota import QuotaService
from bai.folders.service import FolderService
from bai.folders.sftp_sessions import SftpSessionService
from bai.folders.sharing import SharingService
from bai.folders.status import StatusService
from bai.folders.tasks import TaskRunner
from bai.folders.usage import UsageService
from bai.hosts import HostService
from bai.secrets import NodeSecret
from bai.sessions.dotfiles import DotfileService
from bai.sessions.service import SessionService
from bai.storage import open_volumes
from bai.storage.base import Volume
from bai.storage.registry import check_volume_configs
from bai.throttle import FailureThrottle

log = logging.getLogger("bai.node")
HOUSEKEEPING_INTERVAL = 3600.0


class Node:
    """Everything one node process holds; usable only inside `async with`."""

    config: NodeConfig
    secret: NodeSecret
    engine: AsyncEngine
    volumes: dict[str, Volume]
    bootstrap: Bootstrap
    accounts: AccountService
    hosts: HostService
    throttle: FailureThrottle
    tasks: TaskRunner
    quota: QuotaService
    folders: FolderService
    files: FileService
    io: FileIO
    usage: UsageService
    ssh_keys: SshKeyService
    sftp: SftpSessionService
    fs: FolderFS
    status: StatusService
    sharing: SharingService
    imports: BucketImports
    dotfiles: DotfileService
    sessions: SessionService
    events: EventHub
    registry: NodeRegistry
    bridge: EventBridge | None

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.node_id = ""
        self._housekeeping: asyncio.Task[None] | None = None
        self._open = False

    async def __aenter__(self) -> Node:
        await self._open_state()
        try:
            await self._start_loops()
        except BaseException:
            await self._close_state()
            raise
        self._open = True
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop_loops()
        await self._close_state()
        self._open = False

    # ---- state -------------------------------------------------------------------------------

    async def _open_state(self) -> None:
        config = self.config
        try:
            check_volume_configs(config.volumes.values())
            # Volumes first: if one cannot be made, the data directory is not touched either.
            self.volumes = await open_volumes(config.volumes)
        except ConfigError as e:
            raise ConfigError(f"{config.source}: {e.msg}") from None
        prepare_data_dir(config)
        cluster = config.cluster
        self.secret = NodeSecret.load_or_create(
            cluster.secret_file or config.data_dir / "node.secret"
        )
        for vol in self.volumes.values():
            vol.use_cipher(self.secret)  # credentials of imported buckets are sealed with it
        self.node_id = node_id(config.data_dir)
        self.engine = create_engine(cluster.database_url or sqlite_url(config.data_dir / "bai.db"))
        self.registry = NodeRegistry(
            self.engine,
            self.node_id,
            name=config.node_name,
            url=config.endpoint,
            volumes=[VolumeDecl(n, v.backend, v.shared) for n, v in config.volumes.items()],
            heartbeat=cluster.heartbeat,
            down_after=cluster.down_after,
        )
        try:
            # Nodes starting together take turns: one migrates and bootstraps, the others
            # then find the schema, the superadmin and the volumes in place.
            async with startup_lock(self.engine):
                await migrate(self.engine)
                if cluster.database_url is None:
                    for name in ("bai.db", "bai.db-wal", "bai.db-shm"):
                        with contextlib.suppress(OSError):
                            (config.data_dir / name).chmod(0o600)
                await check_secret(self.engine, self.secret)
                self.accounts = AccountService(self.engine, self.secret)
                self.bootstrap = await self.accounts.bootstrap(
                    config.admin_email, {n: v.backend for n, v in self.volumes.items()}
                )
                await self.registry.register()
        except (sa_exc.DBAPIError, OSError) as e:
            await self.engine.dispose()
            where = safe_url(self.engine)
            raise ConfigError(f"cannot use the database {where}: {_first_line(e)}") from None
        except BaseException:
            await self.engine.dispose()
            raise
        self.hosts = HostService(self.volumes, config.default_host, config.node_name)
        self.throttle = FailureThrottle(config.auth.throttle_failures, config.auth.throttle_window)
        self.tasks = TaskRunner(
            self.engine,
            self.node_id,
            hosts=self.volumes,
            stale_after=timedelta(seconds=cluster.down_after),
        )
        self.registry.on_takeover = lambda _ids: self.tasks.wake()
        self.registry.on_volumes = self._volumes_elsewhere
        self.quota = QuotaService(self.engine, self.hosts, self.node_id)
        self.io = FileIO(self.engine, self.hosts, self.quota)
        self.folders = FolderService(self.engine, self.hosts, self.tasks, self.quota, self.io)
        self.files = FileService(self.engine, self.folders, self.io, self.accounts)
        self.usage = UsageService(self.engine, self.hosts)
        self.status = StatusService(self.engine, self.hosts, self.quota)
        self.sharing = SharingService(self.engine, self.folders)
        self.imports = BucketImports(self.folders, self.usage, self.secret)
        self.ssh_keys = SshKeyService(self.engine, self.secret)
        self.sftp = SftpSessionService(
            self.engine, self.folders, self.accounts, self.ssh_keys, config.sftp.idle_timeout
        )
        self.fs = FolderFS(self.files)
        self.dotfiles = DotfileService(self.engine)
        # Sessions run once a transport attaches a runner (`bai serve` attaches the agent).
        self.sessions = SessionService(self.engine, config, self.folders, self.dotfiles)
        # Change events for the transports to stream; services publish when they change things.
        self.events = EventHub()
        # Nodes sharing a database pass their events on to each other.
        self.bridge = (
            EventBridge(self.engine, self.events, self.node_id) if is_shared(self.engine) else None
        )
        self.folders.events = self.io.events = self.files.events = self.events
        self.usage.events = self.sharing.events = self.events
        self.files.moves = DirectoryMoves(self.engine, self.folders, self.events)

    async def transfer_node(self, p: Principal, ident: str) -> str | None:
        """The URL of the node whose local volume holds folder `ident` (as `p` names it), or
        None when this node serves its bytes (its own or a shared volume). Transfers of such
        a folder go to that node, so bytes never hop through a second node."""
        folder = await self.folders.get(p, ident)
        if folder.host in self.volumes:
            return None
        return await self.registry.url_of(folder.host)

    def _volumes_elsewhere(self, volumes: dict[str, str]) -> None:
        self.hosts.elsewhere = {k: v for k, v in volumes.items() if k not in self.volumes}

    async def _close_state(self) -> None:
        await self.engine.dispose()
        for vol in self.volumes.values():
            await vol.close()  # unmount what sessions borrowed (s3fs)

    # ---- background loops --------------------------------------------------------------------

    async def _start_loops(self) -> None:
        await self.quota.forget_reservations()  # a restarted node holds no writes in flight
        # Staged data and session rows carry no node id: while another node is alive, its
        # writes in flight (on a shared volume) and its sessions look orphaned from here, so
        # both clean-ups wait for a start with no other node up.
        alone = not await self.registry.others_up()
        if alone:
            swept = await self.io.sweep_staging()  # ...and no staged data nobody owns
            if swept:
                log.info("removed %d orphaned staged upload(s)", swept)
            ended = await self.sessions.recover()  # sessions of a node that died are over
            if ended:
                log.info("ended %d session(s) left from the last run", ended)
        await self.registry.start()
        if self.bridge is not None:
            await self.bridge.start()
        await self.tasks.start()
        await self.usage.start()
        await self.sftp.start()
        self._housekeeping = asyncio.create_task(self._housekeep(), name="bai-housekeeping")

    async def _stop_loops(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.sessions.stop()
        await self.sftp.stop()
        await self.usage.stop()
        await self.tasks.stop()
        if self.bridge is not None:
            await self.bridge.stop()
        await self.registry.stop()

    async def _housekeep(self) -> None:
        while True:
            try:
                dropped = await self.io.drop_expired_uploads()
                if dropped:
                    log.info("dropped %d expired upload(s)", dropped)
                if not await self.registry.others_up():
                    await self.io.sweep_staging()
            except Exception:  # housekeeping must never stop the node
                log.exception("housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)


def safe_url(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _first_line(e: BaseException) -> str:
    # SQLAlchemy appends the SQL and a link; the driver's own words come first.
    orig = getattr(e, "orig", None) or e
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def prepare_data_dir(config: NodeConfig) -> None:
    data = config.data_dir
    if data.exists() and not data.is_dir():
        raise ConfigError(f"{data}: data directory path exists and is not a directory")
    try:
        data.mkdir(parents=True, exist_ok=True)
        # Only the node goes in: the database, secrets and folders (with whatever sessions
        # put there) are nobody else's business on this host.
        data.chmod(0o700)
    except OSError as e:
        raise ConfigError(f"{data}: cannot create the data directory: {e.strerror}") from None
    node_toml = data / "node.toml"
    if config.source == node_toml and not node_toml.exists():
        node_toml.write_text(DEFAULT_NODE_TOML)


def node_id(data_dir: Path) -> str:
    """A stable id for this node, naming it as the claimer of background tasks."""
    path = data_dir / "node.id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex + "\n")
    return path.read_text().strip()


CLIENT_ENV = "client.env"


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
