"""Provides the SSH keypair bodies (Backend.AI's `/auth/ssh-keypair`) and the SFTP session
bodies (bai's `/sftp-sessions`).

Backend.AI answers `GET /auth/ssh-keypair` with `{"ssh_public_key": …}` and generation or
upload with `{"ssh_public_key": …, "ssh_private_key": …}`; bai adds the key's fingerprint,
where it came from, and whether its private half still waits on the node for its one
download.
"""

from __future__ import annotations

import uuid

from bai.api.base import WireRequest, WireResponse


class SshKeypairInfo(WireResponse):
    """`GET /auth/ssh-keypair`; every field but the first is null without a keypair."""

    ssh_public_key: str | None
    fingerprint: str | None = None
    origin: str | None = None  # generated or uploaded
    private_key_downloadable: bool = False  # `bai ssh-keypair download` can fetch it, once
    created_at: str | None = None


class SshKeypairUpload(WireRequest):
    """`POST /auth/ssh-keypair`: your own key. `privkey` is optional here and, if given, only
    checked against `pubkey`: the node never stores an uploaded private key."""

    pubkey: str
    privkey: str = ""


class SshKeypairIssued(WireResponse):
    """The answer to generation (the private key, this once) and to upload (empty)."""

    ssh_public_key: str
    ssh_private_key: str
    fingerprint: str


class SshPrivateKey(WireResponse):
    """`POST /auth/ssh-keypair/download`: the generated private key; the node erases it."""

    ssh_private_key: str
    fingerprint: str


class SftpSessionCreate(WireRequest):
    folders: list[str]  # names or ids of the folders to serve


class SftpFolder(WireResponse):
    id: uuid.UUID
    name: str


class SftpSessionInfo(WireResponse):
    id: uuid.UUID
    folders: list[SftpFolder]
    owner: str  # e-mail of the session's user
    access_key: str
    created_at: str
    last_activity: str
    expires_at: str | None  # when it ends unless something is transferred
    idle_timeout: float  # seconds
    ended_at: str | None = None
    end_reason: str | None = None  # stopped or idle


class SftpConnection(WireResponse):
    """How to reach the node's SFTP service."""

    host: str
    port: int
    user: str
    host_key_fingerprint: str


class SftpSessionStarted(WireResponse):
    session: SftpSessionInfo
    reused: bool  # a live session already held these folders
    connection: SftpConnection


class SftpSessionList(WireResponse):
    sessions: list[SftpSessionInfo]
    connection: SftpConnection | None  # null when the SFTP service is off


class SftpSessionEnded(WireResponse):
    session: SftpSessionInfo
