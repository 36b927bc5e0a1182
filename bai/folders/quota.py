"""Provides quota admission: refuse a write up front when its scope has no room for it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bai.db import tables as t
from bai.errors import QuotaExceeded
from bai.folders.models import DELETE_COMPLETE, VFolder
from bai.sizes import format_size

v = t.vfolders


async def scope_limit(conn: AsyncConnection, folder: VFolder) -> int:
    """The owner's policy `max_quota_scope_size` (0 = unlimited)."""
    if folder.ownership_type == "user":
        q = (
            sa.select(t.user_resource_policies.c.max_quota_scope_size)
            .join(t.users, t.users.c.resource_policy == t.user_resource_policies.c.name)
            .where(t.users.c.id == folder.user_id)
        )
    else:
        q = (
            sa.select(t.project_resource_policies.c.max_quota_scope_size)
            .join(t.projects, t.projects.c.resource_policy == t.project_resource_policies.c.name)
            .where(t.projects.c.id == folder.project_id)
        )
    return int(await conn.scalar(q) or 0)


async def scope_usage(conn: AsyncConnection, quota_scope_id: str, host: str) -> int:
    used = await conn.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(v.c.cur_size), 0)).where(
            v.c.quota_scope_id == quota_scope_id, v.c.host == host, v.c.status != DELETE_COMPLETE
        )
    )
    return int(used or 0)


async def admit(conn: AsyncConnection, folder: VFolder, incoming: int) -> None:
    limit = await scope_limit(conn, folder)
    if not limit:
        return
    used = await scope_usage(conn, folder.quota_scope_id, folder.host)
    if used + incoming > limit:
        left = max(limit - used, 0)
        raise QuotaExceeded(
            f"quota exceeded: {folder.quota_scope_id} on {folder.host} has "
            f"{format_size(left)} left of {format_size(limit)}, and this write needs "
            f"{format_size(incoming)}; free space or ask an admin to raise the quota"
        )
