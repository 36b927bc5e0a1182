"""Provides Backend.AI's SSH keypair routes (`/auth/ssh-keypair`) and bai's SFTP session
routes (`/sftp-sessions`): "Run SFTP server" for folders, list, stop."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from bai import api
from bai.accounts.ssh_keys import SshKeypair
from bai.folders.sftp_sessions import SftpEndpoint, SftpSession
from bai.server.http.deps import Caller, Services
from bai.server.http.wire import iso


def _session(s: SftpSession) -> api.SftpSessionInfo:
    return api.SftpSessionInfo(
        id=s.id,
        folders=[api.SftpFolder(id=f.id, name=f.name) for f in s.folders],
        owner=s.owner_email,
        access_key=s.access_key,
        created_at=s.created_at.isoformat(),
        last_activity=s.last_activity.isoformat(),
        expires_at=iso(s.expires_at),
        idle_timeout=s.idle_timeout,
        ended_at=iso(s.ended_at),
        end_reason=s.end_reason,
    )


def _connection(e: SftpEndpoint) -> api.SftpConnection:
    return api.SftpConnection(
        host=e.host, port=e.port, user=e.user, host_key_fingerprint=e.host_key_fingerprint
    )


def _keypair(k: SshKeypair | None) -> api.SshKeypairInfo:
    if k is None:
        return api.SshKeypairInfo(ssh_public_key=None)
    return api.SshKeypairInfo(
        ssh_public_key=k.public_key,
        fingerprint=k.fingerprint,
        origin=k.origin,
        private_key_downloadable=k.private_key_pending,
        created_at=iso(k.created_at),
    )


class SshKeypairController(Controller):
    path = "/auth/ssh-keypair"
    tags = ("sftp",)  # type: ignore[assignment]

    @get("", operation_id="getSshKeypair")
    async def show(self, principal: Caller, services: Services) -> api.SshKeypairInfo:
        """The public key of your access key's SSH keypair (null without one)."""
        return _keypair(await services.ssh_keys.get(principal))

    @patch("", operation_id="generateSshKeypair", status_code=200)
    async def generate(self, principal: Caller, services: Services) -> api.SshKeypairIssued:
        """Make a new keypair (replacing yours); the private key is in this answer, and the
        node keeps it for one download."""
        new = await services.ssh_keys.generate(principal)
        return api.SshKeypairIssued(
            ssh_public_key=new.keypair.public_key,
            ssh_private_key=new.private_key,
            fingerprint=new.keypair.fingerprint,
        )

    @post("", operation_id="uploadSshKeypair", status_code=200)
    async def upload(
        self, principal: Caller, services: Services, data: JSONBody[api.SshKeypairUpload]
    ) -> api.SshKeypairIssued:
        """Use your own public key (replacing your keypair); a private key given along is
        only checked against it, never stored."""
        kp = await services.ssh_keys.upload(principal, data.pubkey, data.privkey)
        return api.SshKeypairIssued(
            ssh_public_key=kp.public_key, ssh_private_key="", fingerprint=kp.fingerprint
        )

    @post("/download", operation_id="downloadSshPrivateKey", status_code=200)
    async def download(self, principal: Caller, services: Services) -> api.SshPrivateKey:
        """The generated private key, once: the node erases its copy as it answers."""
        kp, private = await services.ssh_keys.take_private_key(principal)
        return api.SshPrivateKey(ssh_private_key=private, fingerprint=kp.fingerprint)


class SftpSessionsController(Controller):
    path = "/sftp-sessions"
    tags = ("sftp",)  # type: ignore[assignment]

    @post("", operation_id="startSftpSession", status_code=200)
    async def start(
        self, principal: Caller, services: Services, data: JSONBody[api.SftpSessionCreate]
    ) -> api.SftpSessionStarted:
        """Serve folders over SFTP: a live session of yours holding them, or a new one."""
        session, reused = await services.sftp.open(principal, data.folders)
        endpoint = services.sftp.endpoint
        assert endpoint is not None  # `open` refuses when the service is off
        return api.SftpSessionStarted(
            session=_session(session), reused=reused, connection=_connection(endpoint)
        )

    @get("", operation_id="listSftpSessions")
    async def sessions(
        self, principal: Caller, services: Services, all: FromQuery[bool] = False
    ) -> api.SftpSessionList:
        """Your live SFTP sessions (`all=true`: everyone's, for administrators)."""
        found = await services.sftp.sessions(principal, everyone=all)
        endpoint = services.sftp.endpoint
        return api.SftpSessionList(
            sessions=[_session(s) for s in found],
            connection=_connection(endpoint) if endpoint else None,
        )

    @delete("/{session_id:uuid}", operation_id="stopSftpSession", status_code=200)
    async def stop(
        self, principal: Caller, services: Services, session_id: FromPath[uuid.UUID]
    ) -> api.SftpSessionEnded:
        """End a session now; its connections are closed."""
        return api.SftpSessionEnded(
            session=_session(await services.sftp.end(principal, session_id))
        )
