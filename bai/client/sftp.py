"""Provides `client.ssh_keypair` (Backend.AI's `/auth/ssh-keypair`) and `client.sftp`
(SFTP sessions: "Run SFTP server" for folders)."""

from __future__ import annotations

import builtins
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from bai import api
from bai.client.errors import CannotCreate, ensure_dir, local_error

if TYPE_CHECKING:
    from bai.client.session import BaiClient

_KEYPAIR = "/auth/ssh-keypair"
_SESSIONS = "/sftp-sessions"


class SshKeypairApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def get(self) -> api.SshKeypairInfo:
        return await self._c.call("GET", _KEYPAIR, api.SshKeypairInfo)

    async def generate(self) -> api.SshKeypairIssued:
        """A new keypair made by the node; the answer holds the private key."""
        return await self._c.call("PATCH", _KEYPAIR, api.SshKeypairIssued)

    async def upload(self, public_key: str, private_key: str = "") -> api.SshKeypairIssued:
        body = api.SshKeypairUpload(pubkey=public_key, privkey=private_key)
        return await self._c.call("POST", _KEYPAIR, api.SshKeypairIssued, body=body)

    async def download(self) -> api.SshPrivateKey:
        """The generated private key, which the node hands out once."""
        return await self._c.call("POST", f"{_KEYPAIR}/download", api.SshPrivateKey)


class SftpApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def start(self, folders: builtins.list[str]) -> api.SftpSessionStarted:
        body = api.SftpSessionCreate(folders=folders)
        return await self._c.call("POST", _SESSIONS, api.SftpSessionStarted, body=body)

    async def list(self, *, everyone: bool = False) -> api.SftpSessionList:
        params = {"all": "true" if everyone else None}
        return await self._c.call("GET", _SESSIONS, api.SftpSessionList, params=params)

    async def stop(self, session_id: uuid.UUID) -> api.SftpSessionEnded:
        return await self._c.call("DELETE", f"{_SESSIONS}/{session_id}", api.SftpSessionEnded)


def default_key_path(access_key: str) -> Path:
    """Where `bai` keeps the private key it downloads for an access key."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "bai" / "ssh" / access_key / "id_container"


def write_private_key(path: Path, text: str, *, overwrite: bool = False) -> Path:
    """Write a private key readable by its owner only (ssh refuses a key others can read)."""
    ensure_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise CannotCreate(f"{path} exists; pass another path, or --force to replace it") from None
    except OSError as e:
        raise local_error(e, path) from None
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)  # an existing file kept its mode through O_TRUNC
        f.write(text if text.endswith("\n") else text + "\n")
    return path
