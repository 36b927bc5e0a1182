"""Provides `SftpService`: the node's SSH server, serving SFTP to keys with a live session.

The host key is `DATA/ssh_host_ed25519_key`, made at the first start (mode 0600), so clients
see one host key across restarts. Authentication is by public key only: the key must belong
to an access key (`bai ssh-keypair`) that has a live SFTP session (`bai vfolder sftp`).
Failed logins are counted per source address; an address with too many of them in the
window is turned away until it falls below again (SFTPGo's "defender", in small). There is
no compression (it costs more than it saves on a fast link), no forwarding of any kind and
no agent or X11; a session channel runs the `sftp` subsystem and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncssh

from bai.access import Principal
from bai.errors import ConfigError
from bai.folders.sftp_sessions import SftpEndpoint
from bai.node import Node
from bai.server.sftp.channel import SftpChannel
from bai.throttle import FailureThrottle

log = logging.getLogger("bai.sftp")

HOST_KEY_FILE = "ssh_host_ed25519_key"
USER = "work"  # the user name Backend.AI's SFTP sessions print; any name is accepted
_MAX_KEYS = 6  # keys one connection may offer (OpenSSH's MaxAuthTries)
_WINDOW = 8 << 20  # receive window per channel: enough for OpenSSH's 64 writes in flight
_LOGIN_TIMEOUT = 30.0


def load_host_key(data_dir: Path) -> asyncssh.SSHKey:
    path = data_dir / HOST_KEY_FILE
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519", comment="bai node host key")
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.export_private_key("openssh"))
    os.replace(tmp, path)
    return key


class SftpService:
    """The SFTP transport of a running node; it owns nothing of the node's life."""

    def __init__(self, node: Node, host: str, port: int) -> None:
        self.node = node
        self.host = host
        self.port = port
        cfg = node.config.sftp
        self.throttle = FailureThrottle(cfg.throttle_failures, cfg.throttle_window)
        self.connections: set[_Connection] = set()
        self._server: asyncssh.SSHAcceptor | None = None

    async def start(self) -> SftpEndpoint:
        key = load_host_key(self.node.config.data_dir)
        try:
            self._server = await asyncssh.create_server(
                lambda: _Connection(self),
                self.host,
                self.port,
                server_host_keys=[key],
                compression_algs=["none"],
                encoding=None,
                window=_WINDOW,
                agent_forwarding=False,
                x11_forwarding=False,
                allow_scp=False,
                password_auth=False,
                kbdint_auth=False,
                login_timeout=_LOGIN_TIMEOUT,
            )
        except OSError as e:
            raise ConfigError(
                f"cannot listen on {self.host}:{self.port} for SFTP: {e.strerror}; choose "
                "another --sftp-port (0 picks a free one) or set [sftp] enabled = false"
            ) from None
        port = self._server.get_port()
        host = urlsplit(self.node.config.endpoint).hostname or self.host
        endpoint = SftpEndpoint(host, port, USER, key.get_fingerprint("sha256"))
        self.node.sftp.endpoint = endpoint
        self.node.sftp.add_listener(self._sessions_ended)
        return endpoint

    async def close(self) -> None:
        self.node.sftp.endpoint = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        channels = [ch.closed.wait() for conn in self.connections for ch in conn.channels]
        for conn in list(self.connections):
            conn.close()
        if channels:
            # Uploads cut off by the shutdown are settled (dropped or kept) before the node
            # closes its database.
            await asyncio.wait_for(asyncio.gather(*channels), timeout=30)

    def _sessions_ended(self, access_key: str) -> None:
        if self.node.sftp.is_live(access_key):
            return
        for conn in [c for c in self.connections if c.access_key == access_key]:
            conn.end("bai: your SFTP session has ended; start a new one with `bai vfolder sftp`")


class _Connection(asyncssh.SSHServer):
    """One client connection: its login, then its session channels."""

    def __init__(self, service: SftpService) -> None:
        self.service = service
        self.node = service.node
        self.peer = "unknown"
        self.principal: Principal | None = None
        self.channels: list[SftpChannel] = []
        self._conn: Any = None
        self._verdicts: dict[str, bool] = {}
        self._refusals: set[str] = set()
        self._authenticated = False

    @property
    def access_key(self) -> str | None:
        return self.principal.access_key if self.principal else None

    def connection_made(self, conn: Any) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else "unknown"
        self.service.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.service.connections.discard(self)
        if not self._authenticated and self._verdicts:
            # One failure per connection that offered only keys that cannot log in.
            self.service.throttle.record_failure(self.peer)
            log.info("SFTP login refused for %s", self.peer)

    def begin_auth(self, username: str) -> bool:
        wait = self.service.throttle.retry_after(self.peer)
        if wait is not None:
            raise asyncssh.DisconnectError(
                asyncssh.DISC_HOST_NOT_ALLOWED_TO_CONNECT,
                f"too many failed logins from {self.peer}; try again in {int(wait) + 1} s",
            )
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        fp = key.get_fingerprint("sha256")
        if fp in self._verdicts:  # asked twice per key: first unsigned, then signed
            return self._verdicts[fp]
        if len(self._verdicts) >= _MAX_KEYS:
            raise asyncssh.DisconnectError(
                asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many keys offered"
            )
        login = await self.node.sftp.login(fp)
        if login.principal is None and login.refusal and login.refusal not in self._refusals:
            self._refusals.add(login.refusal)
            self._conn.send_auth_banner(login.refusal + "\n")
        if login.principal is not None:
            self.principal = login.principal
        self._verdicts[fp] = login.principal is not None
        return self._verdicts[fp]

    def auth_completed(self) -> None:
        self._authenticated = True
        log.info("SFTP login of %s from %s", self.principal and self.principal.email, self.peer)

    def session_requested(self) -> SftpChannel | bool:
        if self.principal is None:
            return False
        channel = SftpChannel(self.node, self.principal)
        self.channels.append(channel)
        return channel

    def end(self, message: str) -> None:
        for channel in self.channels:
            channel.end(message + "\n")
        # The channels close once their last bytes (the message) are out; the connection
        # follows, in case a client holds it open.
        asyncio.get_running_loop().call_later(2.0, self.close)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
