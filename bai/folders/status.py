"""Provides the Storage Status panel's data: folder counts and per-host quota usage."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.access import Principal, Relation
from bai.db import tables as t
from bai.folders.models import NAME_HOLDING
from bai.folders.quota import QuotaService
from bai.folders.repository import member_projects, visible_folders
from bai.folders.sharing import pending_invitations
from bai.hosts import HostService
from bai.storage.base import Capability

v = t.vfolders


class StatusService:
    def __init__(self, engine: AsyncEngine, hosts: HostService, quota: QuotaService) -> None:
        self.engine = engine
        self.hosts = hosts
        self.quota = quota

    async def status(self, p: Principal) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            folders = [f for f in await visible_folders(conn, p) if f.status in NAME_HOLDING]
            limit = await conn.scalar(
                sa.select(t.user_resource_policies.c.max_vfolder_count)
                .join(t.users, t.users.c.resource_policy == t.user_resource_policies.c.name)
                .where(t.users.c.id == p.user_id)
            )
            projects = await member_projects(conn, p.user_id)
            pending = await pending_invitations(conn, p.user_id)
            names = dict(
                (
                    await conn.execute(
                        sa.select(t.projects.c.id, t.projects.c.name).where(
                            t.projects.c.id.in_(projects)
                        )
                    )
                ).all()
            )
        own = [f for f in folders if f.ownership_type == "user" and f.user_id == p.user_id]
        hosts = []
        for host in self.hosts.allowed(p):
            vol = self.hosts.volumes[host]
            cap = await vol.capacity()
            entry: dict[str, Any] = {
                "host": host,
                "backend": vol.backend,
                "quota_supported": vol.has(Capability.KERNEL_QUOTA),
                "capacity": {
                    "used_bytes": cap.used,
                    "total_bytes": cap.total,
                    "percentage": cap.percentage,
                },
                "user": (await self.quota.scope_state(host, f"user:{p.user_id}")).to_dict(),
                "projects": [],
            }
            for pid in sorted(projects, key=lambda x: names.get(x, "")):
                state = await self.quota.scope_state(host, f"project:{pid}")
                entry["projects"].append({"project": names.get(pid), **state.to_dict()})
            hosts.append(entry)
        return {
            "folders": {
                "created": len(own),
                "limit": int(limit or 0),
                "project": len([f for f in folders if f.ownership_type == "group"]),
                "invited": len([f for f in folders if f.relation == Relation.INVITEE]),
                "pending_invitations": pending,
            },
            "hosts": hosts,
        }
