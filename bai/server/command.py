"""Provides `bai serve`: run a node (HTTP API) until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import uvicorn

from bai import __version__
from bai.agent import BwrapRunner
from bai.config import NodeConfig, check_database_url, load_config
from bai.errors import ConfigError
from bai.folders.sftp_sessions import SftpEndpoint
from bai.node import Node, write_client_env
from bai.server.http.app import create_app
from bai.server.http.protocol import BaiHttpProtocol
from bai.server.sftp import SftpService


def default_data_dir() -> Path:
    return Path(os.environ.get("BAI_DATA_DIR") or "bai-data").absolute()


class _NodeServer(uvicorn.Server):
    """Uvicorn re-raises SIGTERM/SIGINT after shutdown, so the process would die by the
    signal; a node that shut down cleanly should exit 0, so we handle the signals here."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    on_stop: Callable[[], None] = staticmethod(lambda: None)  # set to the node's hub close

    def _on_signal(self) -> None:
        if self.should_exit:  # a second signal: stop waiting for open connections
            self.force_exit = True
        self.should_exit = True
        # Open event streams (terminal UIs) would hold uvicorn's shutdown: end them now.
        self.on_stop()


def _install_fast_loop() -> None:
    """uvloop when present (uvicorn[standard] brings it): faster, and its transports set
    TCP_NODELAY, without which a keep-alive response's body waits ~40 ms for a delayed ACK."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=1024)
    except OSError as e:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {e.strerror}; choose another --port"
        ) from None


async def _serve(config: NodeConfig) -> None:
    sock = _bind(config.host, config.port)
    config = dataclasses.replace(config, port=sock.getsockname()[1])
    try:
        async with Node(config) as node:
            env_path = write_client_env(config, node.bootstrap)
            node.sessions.attach(BwrapRunner())  # the agent: sessions in bubblewrap
            sftp = SftpService(node, config.host, config.sftp_port) if config.sftp.enabled else None
            endpoint = await sftp.start() if sftp is not None else None
            # Transports attach to the running node; stopping them leaves it to `async with`.
            server = _NodeServer(
                uvicorn.Config(
                    create_app(node),
                    # httptools' protocol plus zero-copy downloads and direct upload reads.
                    http=BaiHttpProtocol,
                    log_level=config.log_level,
                    access_log=False,
                    lifespan="on",
                    # The official client sends 16 MiB tus chunks; keep-alive stays short.
                    timeout_keep_alive=30,
                    log_config=None,
                    # uvicorn believes X-Forwarded-For from 127.0.0.1 by default; only the
                    # proxies the operator lists may name the client's address.
                    proxy_headers=bool(config.trusted_proxies),
                    forwarded_allow_ips=list(config.trusted_proxies) or None,
                )
            )
            server.on_stop = node.events.close
            _announce(config, node, env_path, endpoint)
            try:
                await server.serve(sockets=[sock])
            finally:
                if sftp is not None:
                    await sftp.close()
    finally:
        sock.close()
        logging.getLogger("bai").info("node stopped")


def _announce(
    config: NodeConfig, node: Node, env_path: Path | None, sftp: SftpEndpoint | None
) -> None:
    out = click.echo
    out(f"bai node {__version__} listening on {config.endpoint}")
    out(f"  data directory: {config.data_dir}")
    if env_path is not None:
        out(f"  credentials:    {env_path}  (run `source {env_path}` to use bai or backend.ai)")
    else:
        out(
            f"  credentials:    {config.data_dir / 'client.env'} was removed; "
            "use a keypair from `bai admin keypair create`"
        )
    if node.bootstrap.admin_keypair is not None:
        out(f"  created superadmin {node.bootstrap.admin_email}")
    # Last: a launcher waiting for this line has seen the whole announcement.
    if sftp is not None:
        out(f"  sftp:           {sftp.host}:{sftp.port}  (host key {sftp.host_key_fingerprint})")
    else:
        out("  sftp:           off ([sftp] enabled = false in node.toml)")
    sys.stdout.flush()


@click.command("serve")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="State directory [default: $BAI_DATA_DIR or ./bai-data].",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="node.toml to use [default: DATA/node.toml, written at first start].",
)
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1].")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="HTTP port [default: 8090; 0 picks a free one].",
)
@click.option(
    "--sftp-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="SFTP port [default: 2022; 0 picks a free one].",
)
@click.option(
    "--public-url", default=None, help="URL clients reach this node at, if not http://HOST:PORT."
)
@click.option(
    "--database-url",
    default=None,
    help="postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB to share state with other nodes "
    "[default: [database] url, else SQLite in DATA].",
)
def serve(
    data_dir: Path | None,
    config_path: Path | None,
    host: str | None,
    port: int | None,
    sftp_port: int | None,
    public_url: str | None,
    database_url: str | None,
) -> None:
    """Run a node: the storage-folder API, with zero configuration by default."""
    data = (data_dir or default_data_dir()).absolute()
    try:
        config = load_config(data, config_path.absolute() if config_path else None)
        config = dataclasses.replace(
            config,
            host=config.host if host is None else host,
            port=config.port if port is None else port,
            sftp_port=config.sftp_port if sftp_port is None else sftp_port,
            public_url=config.public_url if public_url is None else public_url,
        )
        if database_url:
            cluster = dataclasses.replace(
                config.cluster, database_url=check_database_url(database_url)
            )
            config = dataclasses.replace(config, cluster=cluster)
        logging.basicConfig(
            level=config.log_level.upper(),
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # Libraries' routine chatter (a line per batch of file changes, per migration step)
        # is not what an operator needs.
        for noisy in ("alembic", "watchfiles", "asyncssh"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        _install_fast_loop()
        asyncio.run(_serve(config))
    except ConfigError as e:
        click.echo(f"bai serve: {e.msg}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        pass
