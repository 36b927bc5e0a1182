"""Provides the node secret and what is derived from it (keypair-secret cipher, token key)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import string
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from bai.errors import ConfigError

_ACCESS_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits


class NodeSecret:
    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        key = base64.urlsafe_b64encode(self.derive(b"keypair-secrets"))
        self._fernet = Fernet(key)

    @classmethod
    def load_or_create(cls, path: Path) -> NodeSecret:
        """The secret in `path`, made there first if missing (nodes sharing a database share
        one file, `[node] secret_file`; of two nodes making it at once, one wins)."""
        if not path.exists():
            raw = secrets.token_hex(32).encode()
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(raw + b"\n")
                # link() appears whole or not at all and fails if the name exists, so a
                # node starting beside us reads a complete secret or makes none.
                os.link(tmp, path)
                return cls(raw)
            except FileExistsError:
                pass  # another node made it just now: use theirs
            except OSError as e:
                raise ConfigError(f"{path}: cannot create the node secret: {e.strerror}") from None
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        try:
            raw = path.read_bytes().strip()
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the node secret: {e.strerror}") from None
        if len(raw) < 32:
            raise ConfigError(f"{path}: node secret is too short; restore it from a backup")
        return cls(raw)

    def derive(self, purpose: bytes) -> bytes:
        """A 32-byte key for one purpose; purposes never share a key."""
        return hashlib.sha256(b"bai:" + purpose + b":" + self._raw).digest()

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a keypair secret cannot be decrypted: the node secret file does not match "
                "this database"
            ) from None


def new_access_key() -> str:
    # Backend.AI's shape: "AKIA" + 16 upper-case letters and digits.
    return "AKIA" + "".join(secrets.choice(_ACCESS_ALPHABET) for _ in range(16))


def new_secret_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
