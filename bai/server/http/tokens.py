"""Provides transfer tokens: HS256 JWTs scoped to one folder, path, operation and size.

They are the HTTP layer's form of a transfer grant: the official client fetches `/upload`
and `/download` with only the token, no signed headers."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from bai.errors import AuthFailed, Forbidden
from bai.folders.fileio import UPLOAD_TTL  # a token lives as long as its pending upload

DOWNLOAD_TTL = 30 * 60


@dataclass(frozen=True)
class TransferClaims:
    op: str  # "upload", "download", or "create" (tus creation below the directory `path`)
    host: str
    folder_id: uuid.UUID
    path: str
    size: int = 0
    upload_id: str = ""
    archive: bool = False
    # Who the grant was for: each use is checked against this key's permission as it is
    # then (a member removed, a folder made read-only, a key revoked all end the grant).
    access_key: str = ""


class TokenIssuer:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue(self, claims: TransferClaims, ttl: int | None = None) -> str:
        now = int(time.time())
        ttl = ttl or (DOWNLOAD_TTL if claims.op == "download" else UPLOAD_TTL)
        body: dict[str, Any] = {
            "op": claims.op,
            "vol": claims.host,
            "vfid": str(claims.folder_id),
            "relpath": claims.path,
            "size": claims.size,
            "session": claims.upload_id,
            "archive": claims.archive,
            "ak": claims.access_key,
            "iat": now,
            "exp": now + ttl,
        }
        return jwt.encode(body, self._key, algorithm="HS256")

    def expiry(self, token: str) -> float:
        """When a token that `verify` accepted expires (its signature is not checked again)."""
        body = jwt.decode(token, options={"verify_signature": False})
        return float(body["exp"])

    def verify(self, token: str | None, op: str) -> TransferClaims:
        if not token:
            raise AuthFailed(
                "missing transfer token; request a new one with request-upload or request-download"
            )
        try:
            body = jwt.decode(
                token, self._key, algorithms=["HS256"], options={"require": ["exp", "op", "vfid"]}
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailed("transfer token has expired; request a new one") from None
        except jwt.PyJWTError:
            raise AuthFailed("invalid transfer token") from None
        if body["op"] != op:
            raise Forbidden(f"this token is for {body['op']}, not {op}")
        try:
            return TransferClaims(
                op=body["op"],
                host=body["vol"],
                folder_id=uuid.UUID(body["vfid"]),
                path=body["relpath"],
                size=int(body.get("size", 0)),
                upload_id=body.get("session", ""),
                archive=bool(body.get("archive")),
                access_key=str(body.get("ak", "")),
            )
        except (KeyError, ValueError, TypeError):
            raise AuthFailed("invalid transfer token") from None
