"""Provides quota scopes: their limits, their usage, and admission of writes.

A scope (`user:<uuid>` or `project:<uuid>`, per host) is created on first use with its
owner's resource-policy `max_quota_scope_size` (0 = unlimited). On hosts whose backend has
kernel quotas the limit is applied there and the kernel refuses every writer. Elsewhere the
node refuses a write up front when its declared size does not fit, and every write path
claims quota as its bytes arrive and settles the claim at commit (`Reservation`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai.access import Principal, require_admin
from bai.db import tables as t
from bai.db.errors import retrying
from bai.errors import NotFound, QuotaExceeded
from bai.folders.models import DELETE_COMPLETE, VFolder
from bai.folders.repository import add_usage, now
from bai.hosts import HostService
from bai.sizes import format_size
from bai.storage.base import Capability, UsageDelta

v = t.vfolders
q = t.quota_scopes
r = t.quota_reservations


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


RESERVE_STEP = 8 << 20  # claim quota ahead in steps, not per write call


class Reservation:
    """Bytes one write in flight has claimed from its folder's quota scope.

    `ensure(n)` claims up to `n` bytes before they are written; the claim is settled (turned
    into usage) at commit, or released on abort. Claims live in the database, so concurrent
    writers — on this node or another — together never cross the limit. Scopes without a
    limit, and backends whose kernel enforces the limit, need no claims at all."""

    def __init__(
        self,
        quota: QuotaService,
        folder: VFolder,
        key: str,
        limit: int | None,
        cap: int | None = None,
    ) -> None:
        self.quota = quota
        self.folder = folder
        self.key = key
        self.limit = limit  # None: nothing to claim
        self.cap = cap  # a declared size: never claim beyond it
        self.reserved = 0  # what the claim row holds (loaded when the write is resumed)

    async def ensure(self, total: int) -> None:
        if self.limit is None or total <= self.reserved:
            return
        self.reserved = await self.quota.claim(self, total)

    async def release(self) -> None:
        if self.limit is not None:
            await self.quota.drop_claim(self.key)
            self.reserved = 0


class QuotaService:
    def __init__(self, engine: AsyncEngine, hosts: HostService, node_id: str) -> None:
        self.engine = engine
        self.hosts = hosts
        self.node_id = node_id

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

    async def ensure(self, host: str, scope_id: str) -> int:
        """The scope's limit, creating the scope (and its kernel quota) on first use.

        The backend is prepared outside any database transaction (it may be slow, and a
        transaction must not hold the database meanwhile); both steps are idempotent."""
        async with self.engine.connect() as conn:
            limit = await conn.scalar(
                sa.select(q.c.limit_bytes).where(q.c.host == host, q.c.scope_id == scope_id)
            )
            if limit is not None:
                return int(limit)
            limit = await self.policy_limit(conn, scope_id)
        await self.hosts.volume(host).ensure_scope(scope_hex(scope_id), limit)
        ts = now()
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    q.insert().values(
                        host=host,
                        scope_id=scope_id,
                        limit_bytes=limit,
                        created_at=ts,
                        updated_at=ts,
                    )
                )
        except sa.exc.IntegrityError:
            return await self.ensure(host, scope_id)  # another request made it first
        return int(limit)

    async def usage(
        self,
        conn: AsyncConnection,
        host: str,
        scope_id: str,
        fresh: bool = False,
        known: int | None = None,
    ) -> int:
        """Instant on every backend: the kernel's count (`known`, when the caller asked the
        backend before opening its transaction), or the node's exact accounting."""
        fast = known
        if fast is None:
            fast = await self.hosts.volume(host).scope_usage(scope_hex(scope_id), fresh)
        if fast is not None:
            return fast
        used = await conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(v.c.cur_size), 0)).where(
                v.c.quota_scope_id == scope_id, v.c.host == host, v.c.status != DELETE_COMPLETE
            )
        )
        return int(used or 0)

    async def _claimed(
        self, conn: AsyncConnection, host: str, scope_id: str, but: str | None = None
    ) -> int:
        query = sa.select(sa.func.coalesce(sa.func.sum(r.c.bytes), 0)).where(
            r.c.host == host, r.c.scope_id == scope_id
        )
        if but is not None:
            query = query.where(r.c.id != but)
        return int(await conn.scalar(query) or 0)

    async def _taken(
        self, conn: AsyncConnection, host: str, scope_id: str, but: str, known: int | None
    ) -> int:
        """Usage plus the other writes' claims, read in ONE statement: on PostgreSQL each
        statement sees its own snapshot, and a write settling between two reads (its claim
        gone, its usage not yet seen) would let its bytes be counted nowhere."""
        claimed = (
            sa.select(sa.func.coalesce(sa.func.sum(r.c.bytes), 0))
            .where(r.c.host == host, r.c.scope_id == scope_id, r.c.id != but)
            .scalar_subquery()
        )
        if known is not None:  # the backend's own count (kernel quota)
            return known + int(await conn.scalar(sa.select(claimed)) or 0)
        used = (
            sa.select(sa.func.coalesce(sa.func.sum(v.c.cur_size), 0))
            .where(v.c.quota_scope_id == scope_id, v.c.host == host, v.c.status != DELETE_COMPLETE)
            .scalar_subquery()
        )
        return int(await conn.scalar(sa.select(used + claimed)) or 0)

    async def label(self, conn: AsyncConnection, scope_id: str) -> str:
        """A scope as people name it: the user's e-mail or the project's name."""
        kind, _, ident = scope_id.partition(":")
        if kind == "user":
            email = await conn.scalar(
                sa.select(t.users.c.email).where(t.users.c.id == uuid.UUID(ident))
            )
            return f"the quota of {email or scope_id}"
        name = await conn.scalar(
            sa.select(t.projects.c.name).where(t.projects.c.id == uuid.UUID(ident))
        )
        return f"the quota of project {name or scope_id!r}"

    async def _refuse(
        self, conn: AsyncConnection, folder: VFolder, limit: int, left: int, needs: int
    ) -> QuotaExceeded:
        return QuotaExceeded(
            f"quota exceeded: {await self.label(conn, folder.quota_scope_id)} on host "
            f"{folder.host!r} has {format_size(max(left, 0))} left of {format_size(limit)}, "
            f"and this write needs {format_size(needs)}; free space or ask an admin to raise "
            "the quota"
        )

    async def refused_by_storage(self, folder: VFolder) -> QuotaExceeded:
        """The one quota message for a write the storage itself refused (EDQUOT from a
        kernel-enforced scope), naming the scope as people know it."""
        async with self.engine.connect() as conn:
            limit = await conn.scalar(
                sa.select(q.c.limit_bytes).where(
                    q.c.host == folder.host, q.c.scope_id == folder.quota_scope_id
                )
            )
            label = await self.label(conn, folder.quota_scope_id)
        return QuotaExceeded(
            f"quota exceeded: {label} on host {folder.host!r} is full (limit "
            f"{format_size(int(limit or 0))}); free space or ask an admin to raise the quota"
        )

    async def admit(self, folder: VFolder, incoming: int) -> None:
        """Refuse up front a write whose declared size cannot fit (nothing is claimed)."""
        limit = await self.ensure(folder.host, folder.quota_scope_id)
        if not limit:
            return
        host, scope = folder.host, folder.quota_scope_id
        vol = self.hosts.volume(host)
        # The backend is asked before a database connection is taken (it may be slow).
        known = await vol.scope_usage(scope_hex(scope))
        async with self.engine.connect() as conn:
            used = await self.usage(conn, host, scope, known=known)
            used += await self._claimed(conn, host, scope)
        if used + incoming > limit and known is not None:
            # Frees settle late on some backends (btrfs): look again, freshly, before saying no.
            fresh = await vol.scope_usage(scope_hex(scope), fresh=True)
            async with self.engine.connect() as conn:
                used = await self.usage(conn, host, scope, known=fresh)
                used += await self._claimed(conn, host, scope)
        if used + incoming > limit:
            async with self.engine.connect() as conn:
                raise await self._refuse(conn, folder, limit, limit - used, incoming)

    async def reservation(self, folder: VFolder, key: str, cap: int | None = None) -> Reservation:
        """The claim on `folder`'s scope of the write `key` (resumed where it exists); a
        no-op where nothing is to claim."""
        vol = self.hosts.volume(folder.host)
        if vol.has(Capability.KERNEL_QUOTA):
            return Reservation(self, folder, key, None)  # the kernel says EDQUOT itself
        limit = await self.ensure(folder.host, folder.quota_scope_id)
        res = Reservation(self, folder, key, limit or None, cap)
        if res.limit is not None:
            async with self.engine.connect() as conn:
                res.reserved = int(
                    await conn.scalar(sa.select(r.c.bytes).where(r.c.id == key)) or 0
                )
        return res

    async def drop_claim(self, key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(r.delete().where(r.c.id == key))

    async def claim(self, res: Reservation, total: int) -> int:
        """Raise `res`'s claim to at least `total` bytes (ahead by a step where the scope has
        room); the new claim, or `QuotaExceeded` when `total` does not fit."""
        host, scope = res.folder.host, res.folder.quota_scope_id
        # Ask the backend before the transaction: no storage I/O while the database is held.
        known = await self.hosts.volume(host).scope_usage(scope_hex(scope))
        return await retrying(lambda: self._claim(res, total, known))

    async def _claim(self, res: Reservation, total: int, known: int | None) -> int:
        folder, host, scope = res.folder, res.folder.host, res.folder.quota_scope_id
        async with self.engine.begin() as conn:
            # Write first: this takes the database's write lock (the scope row's lock on
            # PostgreSQL) before reading, so two claims on one scope — from two requests or
            # two nodes — are decided one after the other, each reading the other's result
            # (READ COMMITTED reads what committed before each statement).
            await conn.execute(
                q.update()
                .where(q.c.host == host, q.c.scope_id == scope)
                .values(updated_at=q.c.updated_at)
            )
            limit = int(
                await conn.scalar(
                    sa.select(q.c.limit_bytes).where(q.c.host == host, q.c.scope_id == scope)
                )
                or 0
            )
            if not limit:
                return total
            room = limit - await self._taken(conn, host, scope, res.key, known)
            if total > room:
                raise await self._refuse(conn, folder, limit, room, total - res.reserved)
            grant = min(max(total, res.reserved + RESERVE_STEP), room)
            if res.cap is not None:
                grant = min(grant, max(res.cap, total))
            held = int(await conn.scalar(sa.select(r.c.bytes).where(r.c.id == res.key)) or 0)
            grant = max(grant, held)  # a claim never shrinks while its write is in flight
            updated = await conn.execute(r.update().where(r.c.id == res.key).values(bytes=grant))
            if updated.rowcount == 0:
                await conn.execute(
                    r.insert().values(
                        id=res.key,
                        host=host,
                        scope_id=scope,
                        bytes=grant,
                        node_id=self.node_id,
                        created_at=now(),
                    )
                )
        return grant

    async def settle(
        self, conn: AsyncConnection, res: Reservation, delta: UsageDelta, shared: bool = False
    ) -> None:
        """Turn a claim into usage, in the caller's transaction (the write has committed).

        A claim `shared` by many writes (a clone's, for the whole tree) shrinks by what this
        write added and lives on for the others; a write's own claim is gone."""
        await add_usage(conn, res.folder.id, delta)
        if res.limit is None:
            return
        if shared:
            used = max(delta.bytes, 0)
            await conn.execute(
                r.update()
                .where(r.c.id == res.key)
                .values(bytes=sa.case((r.c.bytes > used, r.c.bytes - used), else_=0))
            )
            res.reserved = max(res.reserved - used, 0)
            return
        await conn.execute(r.delete().where(r.c.id == res.key))
        res.reserved = 0

    async def forget_reservations(self) -> None:
        """Drop this node's claims at start: the writes that held them died with the node,
        except the declared sizes of resumable uploads, which live on."""
        async with self.engine.begin() as conn:
            await conn.execute(
                r.delete().where(
                    r.c.node_id == self.node_id, r.c.id.not_in(sa.select(t.uploads.c.id))
                )
            )

    async def scope_state(self, host: str, scope_id: str) -> ScopeUsage:
        limit = await self.ensure(host, scope_id)
        async with self.engine.connect() as conn:
            used = await self.usage(conn, host, scope_id)
        kernel = self.hosts.volume(host).has(Capability.KERNEL_QUOTA)
        return ScopeUsage(host, scope_id, limit, used, kernel)

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
        host = self.hosts.parse(host)
        async with self.engine.connect() as conn:
            scope_id = await self.resolve(conn, ident)
        return await self.scope_state(host, scope_id)

    async def set_limit(self, actor: Principal, host: str, ident: str, limit: int) -> ScopeUsage:
        require_admin(actor)
        host = self.hosts.parse(host)
        async with self.engine.connect() as conn:
            scope_id = await self.resolve(conn, ident)
        await self.ensure(host, scope_id)
        async with self.engine.begin() as conn:
            await conn.execute(
                q.update()
                .where(q.c.host == host, q.c.scope_id == scope_id)
                .values(limit_bytes=limit, updated_at=now())
            )
        await self.hosts.volume(host).set_scope_limit(scope_hex(scope_id), limit)
        return await self.scope_state(host, scope_id)
