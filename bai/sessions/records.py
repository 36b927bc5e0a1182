"""Provides the database side of sessions: loading records, and the `mounted` folder status.

A folder is `mounted` while a live session holds it: marked when a session starts (from
`ready` only: a folder being cloned keeps that status), returned to `ready` when the last live
session holding it ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bai.db import tables as t
from bai.enums import FolderStatus
from bai.folders.repository import set_status
from bai.sessions.models import LIVE, ComputeSession, SessionMount, SessionState

s_t, m_t, v = t.sessions, t.session_mounts, t.vfolders


async def load_sessions(
    conn: AsyncConnection, cond: sa.ColumnElement[bool] | None
) -> list[ComputeSession]:
    q = sa.select(s_t).order_by(s_t.c.created_at)
    if cond is not None:
        q = q.where(cond)
    rows = (await conn.execute(q)).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    mounts: dict[uuid.UUID, list[SessionMount]] = {}
    mrows = await conn.execute(
        sa.select(m_t.c.session_id, m_t.c.target, m_t.c.read_only, v.c.id, v.c.name)
        .join(v, v.c.id == m_t.c.folder_id)
        .where(m_t.c.session_id.in_(ids))
        .order_by(m_t.c.target)
    )
    for m in mrows:
        mounts.setdefault(m.session_id, []).append(
            SessionMount(m.id, m.name, m.target, m.read_only)
        )
    return [
        ComputeSession(
            id=r.id,
            name=r.name,
            access_key=r.access_key,
            user_id=r.user_id,
            image=r.image,
            state=SessionState(r.state),
            status_info=r.status_info,
            environ=dict(r.environ or {}),
            created_at=r.created_at,
            terminated_at=r.terminated_at,
            mounts=tuple(mounts.get(r.id, ())),
        )
        for r in rows
    ]


async def mark_folders(conn: AsyncConnection, folder_ids: Iterable[uuid.UUID]) -> None:
    for fid in set(folder_ids):
        status = await conn.scalar(sa.select(v.c.status).where(v.c.id == fid))
        if status == FolderStatus.READY:
            await set_status(conn, fid, FolderStatus.MOUNTED)


async def unmark_folders(conn: AsyncConnection, session_ids: Iterable[uuid.UUID]) -> None:
    """After `session_ids` ended: their folders no live session still holds become `ready`."""
    ids = list(session_ids)
    folder_ids = set(
        (await conn.scalars(sa.select(m_t.c.folder_id).where(m_t.c.session_id.in_(ids)))).all()
    )
    for fid in folder_ids:
        holders = await live_holders(conn, fid)
        status = await conn.scalar(sa.select(v.c.status).where(v.c.id == fid))
        if not holders and status == FolderStatus.MOUNTED:
            await set_status(conn, fid, FolderStatus.READY)


async def live_holders(conn: AsyncConnection, folder_id: uuid.UUID) -> list[str]:
    """Names of the live sessions that have `folder_id` mounted."""
    rows = await conn.scalars(
        sa.select(s_t.c.name)
        .join(m_t, m_t.c.session_id == s_t.c.id)
        .where(m_t.c.folder_id == folder_id, s_t.c.state.in_([s.value for s in LIVE]))
        .distinct()
    )
    return list(rows.all())
