"""Provides the account records as plain dataclasses (what the service returns)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

USER_STATUSES = ("active", "inactive")
POLICY_KINDS = ("user", "project", "keypair")


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    username: str
    full_name: str
    role: str
    status: str
    domain_name: str
    resource_policy: str
    created_at: datetime
    projects: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "email": self.email,
            "username": self.username,
            "full_name": self.full_name,
            "role": self.role,
            "status": self.status,
            "domain_name": self.domain_name,
            "resource_policy": self.resource_policy,
            "created_at": _iso(self.created_at),
            "projects": list(self.projects),
        }


@dataclass(frozen=True)
class Project:
    id: uuid.UUID
    name: str
    description: str
    domain_name: str
    is_active: bool
    resource_policy: str
    created_at: datetime
    members: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "description": self.description,
            "domain_name": self.domain_name,
            "is_active": self.is_active,
            "resource_policy": self.resource_policy,
            "created_at": _iso(self.created_at),
            "members": list(self.members),
        }


@dataclass(frozen=True)
class Keypair:
    access_key: str
    user_email: str
    is_active: bool
    resource_policy: str
    created_at: datetime
    last_used: datetime | None

    def to_dict(self) -> dict[str, Any]:
        # Never the secret: it is shown once, when the keypair is made.
        return {
            "access_key": self.access_key,
            "user": self.user_email,
            "is_active": self.is_active,
            "resource_policy": self.resource_policy,
            "created_at": _iso(self.created_at),
            "last_used": _iso(self.last_used),
        }


@dataclass(frozen=True)
class ScopePolicy:
    """A user or project resource policy."""

    kind: str
    name: str
    max_vfolder_count: int
    max_quota_scope_size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "max_vfolder_count": self.max_vfolder_count,
            "max_quota_scope_size": self.max_quota_scope_size,
        }


@dataclass(frozen=True)
class KeypairPolicy:
    name: str
    allowed_vfolder_hosts: dict[str, list[str]]
    max_concurrent_sftp_sessions: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "keypair",
            "name": self.name,
            "allowed_vfolder_hosts": self.allowed_vfolder_hosts,
            "max_concurrent_sftp_sessions": self.max_concurrent_sftp_sessions,
        }


@dataclass(frozen=True)
class NewKeypair:
    """A keypair with its secret: returned only by the call that created it."""

    access_key: str
    secret_key: str
    user_email: str
