"""Provides quota scopes: their limits, their usage, and admission of writes.

A scope (`user:<uuid>` or `project:<uuid>`, per host) is created on first use with its
owner's resource-policy `max_quota_scope_size` (0 = unlimited). On hosts whose backend has
kernel quotas the limit is also applied there; everywhere the node refuses a write up front
when the declared size does not fit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai.access import Principal, require_admin
from bai.db import tables as t
from bai.errors import NotFound, QuotaExceeded
from bai.folders.models import DELETE_COMPLETE, VFolder
from bai.folders.repository import now
from bai.sizes import format_size
from bai.storage.base import Volume

v = t.vfolders
q = t.quota_scopes


@dataclass(frozen=True)
class ScopeUsage:
    host: str
    scope_id: str
    limit: int
    used: int
    supported: bool  # the backend enforces the limit itself (kernel quota)

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "scope_id": self.scope_id,
            "limit_bytes": self.limit,
            "used_bytes": self.used,
            "kernel_enforced": self.supported,
        }


def scope_hex(scope_id: str) -> str:
    return scope_id.split(":", 1)[1].replace("-", "")


class QuotaService:
    def __init__(self, engine: AsyncEngine, volumes: dict[str, Volume]) -> None:
        self.engine = engine
        self.volumes = volumes

    def _volume(self, host: str) -> Volume:
        vol = self.volumes.get(host.split(":", 1)[-1])
        if vol is None:
            raise NotFound(f"no storage host {host!r}")
        return vol

    async def policy_limit(self, conn: AsyncConnection, scope_id: str) -> int:
        kind, _, ident = scope_id.partition(":")
        if kind == "user":
            query = (
                sa.select(t.user_resource_policies.c.max_quota_scope_size)
                .join(t.users, t.users.c.resource_policy == t.user_resource_policies.c.name)
                .where(t.users.c.id == uuid.UUID(ident))
            )
        else:
            query = (
                sa.select(t.project_resource_policies.c.max_quota_scope_size)
                .join(
                    t.projects, t.projects.c.resource_policy == t.project_resource_policies.c.name
                )
                .where(t.projects.c.id == uuid.UUID(ident))
            )
        return int(await conn.scalar(query) or 0)

    async def ensure(self, conn: AsyncConnection, host: str, scope_id: str) -> int:
        """The scope's limit, creating the scope (and its kernel quota) on first use."""
        row = (
            await conn.execute(
                sa.select(q.c.limit_bytes).where(q.c.host == host, q.c.scope_id == scope_id)
            )
        ).first()
        if row is not None:
            return int(row[0])
        limit = await self.policy_limit(conn, scope_id)
        ts = now()
        await conn.execute(
            q.insert().values(
                host=host, scope_id=scope_id, limit_bytes=limit, created_at=ts, updated_at=ts
            )
        )
        await self._volume(host).ensure_scope(scope_hex(scope_id), limit)
        return limit

    async def usage(
        self, conn: AsyncConnection, host: str, scope_id: str, fresh: bool = False
    ) -> int:
        """Instant on every backend: the kernel's count, or the node's exact accounting."""
        fast = await self._volume(host).scope_usage(scope_hex(scope_id), fresh)
        if fast is not None:
            return fast
        used = await conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(v.c.cur_size), 0)).where(
                v.c.quota_scope_id == scope_id, v.c.host == host, v.c.status != DELETE_COMPLETE
            )
        )
        return int(used or 0)

    async def admit(self, conn: AsyncConnection, folder: VFolder, incoming: int) -> None:
        limit = await self.ensure(conn, folder.host, folder.quota_scope_id)
        if not limit:
            return
        used = await self.usage(conn, folder.host, folder.quota_scope_id)
        if used + incoming > limit:
            used = await self.usage(conn, folder.host, folder.quota_scope_id, fresh=True)
        if used + incoming > limit:
            left = max(limit - used, 0)
            raise QuotaExceeded(
                f"quota exceeded: {folder.quota_scope_id} on {folder.host} has "
                f"{format_size(left)} left of {format_size(limit)}, and this write needs "
                f"{format_size(incoming)}; free space or ask an admin to raise the quota"
            )

    async def scope_state(self, host: str, scope_id: str) -> ScopeUsage:
        async with self.engine.begin() as conn:
            limit = await self.ensure(conn, host, scope_id)
            used = await self.usage(conn, host, scope_id)
        return ScopeUsage(host, scope_id, limit, used, self._volume(host).quota_supported)

    # ---- admin -----------------------------------------------------------------------------

    async def resolve(self, conn: AsyncConnection, ident: str) -> str:
        """`user:<uuid>` / `project:<uuid>` from an e-mail, a project name or a UUID."""
        if ident.startswith(("user:", "project:")):
            return ident
        try:
            as_uuid = uuid.UUID(ident)
        except ValueError:
            as_uuid = None
        if as_uuid is not None:
            if await conn.scalar(sa.select(t.users.c.id).where(t.users.c.id == as_uuid)):
                return f"user:{as_uuid}"
            if await conn.scalar(sa.select(t.projects.c.id).where(t.projects.c.id == as_uuid)):
                return f"project:{as_uuid}"
        uid = await conn.scalar(sa.select(t.users.c.id).where(t.users.c.email == ident))
        if uid is not None:
            return f"user:{uid}"
        pid = await conn.scalar(sa.select(t.projects.c.id).where(t.projects.c.name == ident))
        if pid is not None:
            return f"project:{pid}"
        raise NotFound(f"no user or project {ident!r}; give an e-mail, a project name or a UUID")

    async def get(self, actor: Principal, host: str, ident: str) -> ScopeUsage:
        require_admin(actor)
        self._volume(host)
        async with self.engine.connect() as conn:
            scope_id = await self.resolve(conn, ident)
        return await self.scope_state(host, scope_id)

    async def set_limit(self, actor: Principal, host: str, ident: str, limit: int) -> ScopeUsage:
        require_admin(actor)
        vol = self._volume(host)
        async with self.engine.begin() as conn:
            scope_id = await self.resolve(conn, ident)
            await self.ensure(conn, host, scope_id)
            await conn.execute(
                q.update()
                .where(q.c.host == host, q.c.scope_id == scope_id)
                .values(limit_bytes=limit, updated_at=now())
            )
            await vol.set_scope_limit(scope_hex(scope_id), limit)
        return await self.scope_state(host, scope_id)
