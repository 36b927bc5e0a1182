"""Provides resource policies (user, project, keypair) for `AccountService`."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai.access import Principal, require_admin, validate_host_permissions
from bai.accounts.models import POLICY_KINDS, KeypairPolicy, ScopePolicy
from bai.db import tables as t
from bai.errors import InvalidRequest, NotFound

DEFAULT_POLICY = "default"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class PoliciesMixin:
    engine: AsyncEngine

    # ---- resource policies -----------------------------------------------------------------

    @staticmethod
    def _policy_table(kind: str) -> sa.Table:
        tables = {
            "user": t.user_resource_policies,
            "project": t.project_resource_policies,
            "keypair": t.keypair_resource_policies,
        }
        if kind not in tables:
            raise InvalidRequest(f"policy kind must be one of {', '.join(POLICY_KINDS)}")
        return tables[kind]

    async def _require_policy(self, conn: AsyncConnection, kind: str, name: str) -> None:
        table = self._policy_table(kind)
        if await conn.scalar(sa.select(table.c.name).where(table.c.name == name)) is None:
            raise NotFound(
                f"no {kind} resource policy {name!r}; create it with "
                f"`bai admin resource-policy set {kind} {name} …`"
            )

    async def list_policies(
        self, actor: Principal, kind: str | None = None
    ) -> list[ScopePolicy | KeypairPolicy]:
        require_admin(actor)
        out: list[ScopePolicy | KeypairPolicy] = []
        async with self.engine.connect() as conn:
            for k in POLICY_KINDS if kind is None else (kind,):
                table = self._policy_table(k)
                for r in await conn.execute(sa.select(table).order_by(table.c.name)):
                    if k == "keypair":
                        out.append(
                            KeypairPolicy(
                                r.name,
                                dict(r.allowed_vfolder_hosts),
                                r.max_concurrent_sftp_sessions,
                            )
                        )
                    else:
                        out.append(
                            ScopePolicy(k, r.name, r.max_vfolder_count, r.max_quota_scope_size)
                        )
        return out

    async def get_scope_policy(self, kind: str, name: str) -> ScopePolicy:
        table = self._policy_table(kind)
        async with self.engine.connect() as conn:
            r = (await conn.execute(sa.select(table).where(table.c.name == name))).first()
        if r is None:
            raise NotFound(f"no {kind} resource policy {name!r}")
        return ScopePolicy(kind, r.name, r.max_vfolder_count, r.max_quota_scope_size)

    async def set_policy(
        self,
        actor: Principal,
        kind: str,
        name: str,
        *,
        max_vfolder_count: int | None = None,
        max_quota_scope_size: int | None = None,
        allowed_vfolder_hosts: dict[str, list[str]] | None = None,
        max_concurrent_sftp_sessions: int | None = None,
    ) -> ScopePolicy | KeypairPolicy:
        """Create the policy if it is new, else change only the given fields."""
        require_admin(actor)
        if not _NAME_RE.match(name):
            raise InvalidRequest(f"policy name {name!r} must be 1-64 letters, digits, . _ -")
        table = self._policy_table(kind)
        values: dict[str, Any] = {}
        if kind == "keypair":
            if max_vfolder_count is not None or max_quota_scope_size is not None:
                raise InvalidRequest(
                    "keypair policies hold allowed hosts and SFTP sessions; folder count and "
                    "quota size belong to user and project policies"
                )
            if allowed_vfolder_hosts is not None:
                values["allowed_vfolder_hosts"] = validate_host_permissions(allowed_vfolder_hosts)
            if max_concurrent_sftp_sessions is not None:
                if max_concurrent_sftp_sessions < 0:
                    raise InvalidRequest("max_concurrent_sftp_sessions must not be negative")
                values["max_concurrent_sftp_sessions"] = max_concurrent_sftp_sessions
            defaults: dict[str, Any] = {
                "allowed_vfolder_hosts": {},
                "max_concurrent_sftp_sessions": 1,
            }
        else:
            if allowed_vfolder_hosts is not None or max_concurrent_sftp_sessions is not None:
                raise InvalidRequest(
                    f"{kind} policies hold max_vfolder_count and max_quota_scope_size only"
                )
            for key, value in (
                ("max_vfolder_count", max_vfolder_count),
                ("max_quota_scope_size", max_quota_scope_size),
            ):
                if value is not None:
                    if value < 0:
                        raise InvalidRequest(f"{key} must not be negative (0 means unlimited)")
                    values[key] = value
            defaults = {"max_vfolder_count": 0, "max_quota_scope_size": 0}
        async with self.engine.begin() as conn:
            exists = await conn.scalar(sa.select(table.c.name).where(table.c.name == name))
            if exists is None:
                await conn.execute(table.insert().values(name=name, **{**defaults, **values}))
            elif values:
                await conn.execute(table.update().where(table.c.name == name).values(**values))
        policies = await self.list_policies(actor, kind)
        return next(p for p in policies if p.name == name)
