"""Provides the checks a new or renamed folder must pass before its row is written: a free
name for its owner or project, the project it belongs to, the owner's folder count."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bai.access import Principal
from bai.db import tables as t
from bai.errors import Conflict, Forbidden, InvalidRequest, NotFound
from bai.folders.models import NAME_HOLDING
from bai.folders.repository import visible_folders

v = t.vfolders


async def check_name_free(
    conn: AsyncConnection, p: Principal, name: str, project_id: uuid.UUID | None = None
) -> None:
    taken = any(f.name == name and f.status in NAME_HOLDING for f in await visible_folders(conn, p))
    if project_id is not None and not taken:
        # A project folder's name must also be free among that project's folders, which
        # its members see even where the creating admin does not.
        taken = (
            await conn.scalar(
                sa.select(v.c.id)
                .where(
                    v.c.project_id == project_id,
                    v.c.name == name,
                    v.c.status.in_(NAME_HOLDING),
                )
                .limit(1)
            )
        ) is not None
    if taken:
        raise Conflict(f"a folder named {name!r} already exists; choose another name")


async def project_for_folder(
    conn: AsyncConnection, p: Principal, group: str, name: str
) -> uuid.UUID:
    if not p.is_admin:
        raise Forbidden("only admins can create project folders; ask an admin")
    if name.startswith(".") and name != ".local":
        raise InvalidRequest(
            "automount (dot-named) folders cannot be project folders, except .local"
        )
    try:
        cond = t.projects.c.id == uuid.UUID(group)
    except ValueError:
        cond = t.projects.c.name == group
    pid = await conn.scalar(sa.select(t.projects.c.id).where(cond))
    if pid is None:
        raise NotFound(f"no project {group!r}; `bai admin project list` shows the projects")
    return pid  # type: ignore[no-any-return]


async def check_folder_count(conn: AsyncConnection, p: Principal) -> None:
    limit = await conn.scalar(
        sa.select(t.user_resource_policies.c.max_vfolder_count)
        .join(t.users, t.users.c.resource_policy == t.user_resource_policies.c.name)
        .where(t.users.c.id == p.user_id)
    )
    if not limit:
        return
    count = await conn.scalar(
        sa.select(sa.func.count())
        .select_from(v)
        .where(v.c.user_id == p.user_id, v.c.status.in_(NAME_HOLDING))
    )
    if (count or 0) >= limit:
        raise Forbidden(
            f"you have {count} folders and your resource policy allows {limit}; delete "
            "one forever or ask an admin to raise max_vfolder_count"
        )
