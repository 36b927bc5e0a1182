"""Provides `SshKeyService`: the SSH keypair of each access key, for the SFTP service.

As Backend.AI's `/auth/ssh-keypair` routes do, a caller either has the node generate a
keypair or uploads a public key of their own. A generated private key is handed out once:
in the answer that generated it, and then in one download (`bai ssh-keypair download`);
after that download only its public half stays. An uploaded private key is never stored:
the node only needs the public half to recognise the key at login.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.access import Principal
from bai.db import tables as t
from bai.errors import Conflict, InvalidRequest, NotFound
from bai.secrets import NodeSecret

GENERATED = "generated"
UPLOADED = "uploaded"
_MIN_RSA_BITS = 2048
_MAX_PUBLIC_KEY = 16384
# What OpenSSH logs in with by default (DSA has been off since OpenSSH 7.0).
_KEY_TYPES = (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey, rsa.RSAPublicKey)

k = t.ssh_keypairs


@dataclass(frozen=True)
class SshKeypair:
    """An access key's SSH key as the node keeps it (never the private half)."""

    access_key: str
    public_key: str
    fingerprint: str
    origin: str  # generated or uploaded
    private_key_pending: bool  # a generated private key still waits for its one download
    created_at: datetime


@dataclass(frozen=True)
class NewSshKeypair:
    keypair: SshKeypair
    private_key: str  # OpenSSH format; returned by the call that generated it, and kept once


def fingerprint_of_blob(blob: bytes) -> str:
    """OpenSSH's `SHA256:…` fingerprint of a public key's wire form."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _blob_of(public_line: str) -> bytes:
    parts = public_line.split()
    if len(parts) < 2:
        raise InvalidRequest(
            "not an OpenSSH public key: expected a line such as `ssh-ed25519 AAAA… comment` "
            "(the contents of a .pub file)"
        )
    try:
        return base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("the public key's base64 part is damaged") from None


def check_public_key(line: str) -> str:
    """The key line (`type base64 [comment]`), or InvalidRequest saying what is wrong."""
    line = line.strip()
    if not line or "\n" in line or len(line) > _MAX_PUBLIC_KEY or not line.isascii():
        raise InvalidRequest("give exactly one public key line (the contents of a .pub file)")
    try:
        key = serialization.load_ssh_public_key(line.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, _KEY_TYPES):
        kind = line.split()[0]
        raise InvalidRequest(
            f"cannot read this public key (type {kind!r}); use an ssh-ed25519, ecdsa or "
            "ssh-rsa key (for example from `ssh-keygen -t ed25519`)"
        )
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < _MIN_RSA_BITS:
        raise InvalidRequest(
            f"this RSA key has {key.key_size} bits; use at least {_MIN_RSA_BITS} (or ed25519)"
        )
    _blob_of(line)
    return line


def _check_matches(public_line: str, private_pem: str) -> None:
    """A private key given with an upload must be the public key's other half: a mismatch
    would leave the caller with a key that cannot log in."""
    try:
        private = serialization.load_ssh_private_key(
            private_pem.encode("utf-8", "replace"), password=None
        )
    except TypeError:
        return  # passphrase-protected: it stays with its owner unread, which is fine
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidRequest(
            "cannot read the private key; give it in OpenSSH or PEM format"
        ) from None
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    if _blob_of(public.decode()) != _blob_of(public_line):
        raise InvalidRequest("the private key does not belong to the public key")


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


class SshKeyService:
    def __init__(self, engine: AsyncEngine, secret: NodeSecret) -> None:
        self.engine = engine
        self.secret = secret

    async def get(self, p: Principal) -> SshKeypair | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(k).where(k.c.access_key == p.access_key))).first()
        if row is None:
            return None
        return SshKeypair(
            row.access_key,
            row.public_key,
            row.fingerprint,
            row.origin,
            row.private_key_enc is not None,
            _aware(row.created_at),
        )

    async def generate(self, p: Principal) -> NewSshKeypair:
        """A new ed25519 keypair for the caller's access key, replacing any it had."""
        private = ed25519.Ed25519PrivateKey.generate()
        private_text = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode()
        public = private.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        line = f"{public.decode()} bai:{p.access_key}"
        keypair = await self._store(p, line, GENERATED, self.secret.encrypt(private_text))
        return NewSshKeypair(keypair, private_text)

    async def upload(self, p: Principal, public_key: str, private_key: str = "") -> SshKeypair:
        """Use the caller's own key; `private_key`, if given, is only checked, never kept."""
        line = check_public_key(public_key)
        if private_key.strip():
            _check_matches(line, private_key)
        return await self._store(p, line, UPLOADED, None)

    async def _store(
        self, p: Principal, line: str, origin: str, private_enc: str | None
    ) -> SshKeypair:
        fp = fingerprint_of_blob(_blob_of(line))
        values = {
            "public_key": line,
            "fingerprint": fp,
            "origin": origin,
            "private_key_enc": private_enc,
            "created_at": _now(),
        }
        try:
            async with self.engine.begin() as conn:
                await conn.execute(k.delete().where(k.c.access_key == p.access_key))
                await conn.execute(k.insert().values(access_key=p.access_key, **values))
        except IntegrityError:
            # One key, one access key: a login presents only the key, and must name one caller.
            raise Conflict(
                f"this public key ({fp}) is already registered for another access key; "
                "use a key of its own for each access key"
            ) from None
        kp = await self.get(p)
        assert kp is not None
        return kp

    async def take_private_key(self, p: Principal) -> tuple[SshKeypair, str]:
        """The generated private key, once: it is erased from the node as it is handed out."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(sa.select(k).where(k.c.access_key == p.access_key))).first()
            if row is None:
                raise NotFound(
                    "your access key has no SSH keypair; make one with `bai ssh-keypair "
                    "generate` (or upload yours with `bai ssh-keypair upload`)"
                )
            if row.private_key_enc is None:
                why = (
                    "it was uploaded by you and the node never keeps an uploaded private key"
                    if row.origin == UPLOADED
                    else "it was downloaded already and the node keeps no copy"
                )
                raise NotFound(
                    f"the private key of {row.fingerprint} is not on the node: {why}; use your "
                    "copy, or make a new keypair with `bai ssh-keypair generate`"
                )
            await conn.execute(
                k.update().where(k.c.access_key == p.access_key).values(private_key_enc=None)
            )
        kp = await self.get(p)
        assert kp is not None
        return kp, self.secret.decrypt(row.private_key_enc)

    async def access_key_of(self, fingerprint: str) -> str | None:
        """The access key whose SSH key has this fingerprint (what a login presents)."""
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                sa.select(k.c.access_key).where(k.c.fingerprint == fingerprint)
            )
        return str(found) if found is not None else None
