"""Provides folder rows: loading, visibility for a caller, status changes, usage updates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bai.access import Principal, Relation, folder_permission, owns, relation, visibility
from bai.db import tables as t
from bai.enums import FolderStatus, Ownership
from bai.errors import Conflict
from bai.folders.models import VFolder
from bai.storage.base import BucketSource, FolderRef, UsageDelta

v = t.vfolders


def now() -> datetime:
    return datetime.now(UTC)


def aware(ts: datetime | None) -> datetime | None:
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def ref_of(f: VFolder) -> FolderRef:
    return FolderRef(f.scope_hex, f.id, f.location, source_of(f))


def source_of(f: VFolder) -> BucketSource | None:
    """The imported bucket behind a folder (None for data the node created)."""
    meta = f.storage_meta
    if not meta:
        return None
    return BucketSource(
        bucket=str(meta["bucket"]),
        prefix=str(meta.get("prefix", "")),
        endpoint=meta.get("endpoint"),
        access_key=meta.get("access_key"),
        secret_sealed=meta.get("secret_sealed"),
        read_only=f.read_only,
    )


async def member_projects(conn: AsyncConnection, user_id: uuid.UUID) -> set[uuid.UUID]:
    rows = await conn.scalars(
        sa.select(t.project_members.c.project_id).where(t.project_members.c.user_id == user_id)
    )
    return set(rows.all())


def _select(caller: uuid.UUID | None = None) -> sa.Select[Any]:
    """Folder rows with their owner's e-mail and project name and, for `caller`, their row in
    the share table (`granted`: an invitee's permission or a member's override)."""
    share = t.vfolder_permissions
    joined = v.outerjoin(t.users, t.users.c.id == v.c.user_id).outerjoin(
        t.projects, t.projects.c.id == v.c.project_id
    )
    granted: sa.ColumnElement[Any] = sa.null()
    if caller is not None:
        joined = joined.outerjoin(
            share, sa.and_(share.c.folder_id == v.c.id, share.c.user_id == caller)
        )
        granted = share.c.permission
    return (
        sa.select(
            v,
            t.users.c.email.label("owner_email"),
            t.projects.c.name.label("project_name"),
            granted.label("granted"),
        )
        .select_from(joined)
        .order_by(v.c.created_at, v.c.name)
    )


def _to_folder(r: Any, p: Principal | None, projects: set[uuid.UUID]) -> VFolder:
    rel = Relation.OUTSIDER
    if p is not None:
        rel = relation(
            p,
            ownership=r.ownership_type,
            owner_id=r.user_id,
            is_member=r.project_id in projects,
            shared=r.granted is not None,
        )
    return VFolder(
        id=r.id,
        host=r.host,
        quota_scope_id=r.quota_scope_id,
        name=r.name,
        usage_mode=r.usage_mode,
        permission=r.permission,
        ownership_type=r.ownership_type,
        user_id=r.user_id,
        project_id=r.project_id,
        creator=r.creator,
        cloneable=r.cloneable,
        status=FolderStatus(r.status),
        status_history=dict(r.status_history),
        created_at=aware(r.created_at) or now(),
        last_used=aware(r.last_used),
        num_files=r.num_files,
        cur_size=r.cur_size,
        location=r.location,
        read_only=bool(r.read_only),
        storage_meta=r.storage_meta,
        relation=rel,
        caller_permission=folder_permission(rel, r.permission, r.granted),
        is_owner=owns(rel),
        owner_email=r.owner_email,
        project_name=r.project_name,
    )


async def visible_folders(
    conn: AsyncConnection, p: Principal, where: sa.ColumnElement[bool] | None = None
) -> list[VFolder]:
    """Folders `p` can see, as `bai.access.visibility` decides."""
    projects = await member_projects(conn, p.user_id)
    vis = visibility(p, projects)
    shared_ids = sa.select(t.vfolder_permissions.c.folder_id).where(
        t.vfolder_permissions.c.user_id == vis.user_id
    )
    cond: sa.ColumnElement[bool] = sa.and_(
        v.c.ownership_type == Ownership.USER,
        sa.or_(v.c.user_id == vis.user_id, v.c.id.in_(shared_ids)),
    )
    if vis.every_project_folder:
        cond = sa.or_(cond, v.c.ownership_type == Ownership.GROUP)
    elif vis.projects:
        cond = sa.or_(
            cond, sa.and_(v.c.ownership_type == Ownership.GROUP, v.c.project_id.in_(vis.projects))
        )
    q = _select(p.user_id).where(cond)
    if where is not None:
        q = q.where(where)
    rows = (await conn.execute(q)).all()
    return [_to_folder(r, p, projects) for r in rows]


async def every_folder(conn: AsyncConnection, p: Principal) -> list[VFolder]:
    """Every folder of the node, each as `p` stands to it (administrators' views only)."""
    projects = await member_projects(conn, p.user_id)
    rows = (await conn.execute(_select(p.user_id))).all()
    return [_to_folder(r, p, projects) for r in rows]


async def folder_by_id(conn: AsyncConnection, folder_id: uuid.UUID) -> VFolder | None:
    row = (await conn.execute(_select().where(v.c.id == folder_id))).first()
    return _to_folder(row, None, set()) if row is not None else None


async def set_status(
    conn: AsyncConnection,
    folder_id: uuid.UUID,
    status: str,
    *,
    expect: str | None = None,
    **values: Any,
) -> None:
    """Move a folder to `status`. With `expect`, only from that status: the caller decided
    on a status it read earlier, and another request (or node) may have moved the folder
    meanwhile — then nothing changes and `Conflict` says so."""
    query = sa.select(v.c.status, v.c.status_history).where(v.c.id == folder_id)
    row = (await conn.execute(query.with_for_update())).first()
    history = dict(row.status_history) if row else {}
    ts = now()
    history[status] = ts.isoformat()
    update = v.update().where(v.c.id == folder_id)
    if expect is not None:
        # In the UPDATE itself, so it holds on SQLite too (whose reads take no lock).
        update = update.where(v.c.status == expect)
    res = await conn.execute(
        update.values(status=status, status_history=history, status_changed=ts, **values)
    )
    if expect is not None and res.rowcount != 1:
        now_is = await conn.scalar(sa.select(v.c.status).where(v.c.id == folder_id))
        raise Conflict(
            f"the folder changed meanwhile (it is now {now_is or 'gone'}); look again and retry"
        )


def _floor0(expr: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    # Portable max(expr, 0): SQLite has no GREATEST, PostgreSQL no two-argument MAX.
    return sa.case((expr < 0, 0), else_=expr)


async def add_usage(conn: AsyncConnection, folder_id: uuid.UUID, delta: UsageDelta) -> None:
    if delta.files == 0 and delta.bytes == 0:
        return
    await conn.execute(
        v.update()
        .where(v.c.id == folder_id)
        .values(
            num_files=_floor0(v.c.num_files + delta.files),
            cur_size=_floor0(v.c.cur_size + delta.bytes),
        )
    )


async def insert_folder(
    conn: AsyncConnection,
    *,
    folder_id: uuid.UUID,
    host: str,
    scope: str,
    name: str,
    usage_mode: str,
    permission: str,
    ownership: str,
    user_id: uuid.UUID | None,
    project_id: uuid.UUID | None,
    creator: str,
    cloneable: bool,
    status: str,
    location: str,
    read_only: bool = False,
    storage_meta: dict[str, Any] | None = None,
) -> None:
    ts = now()
    await conn.execute(
        v.insert().values(
            id=folder_id,
            host=host,
            quota_scope_id=scope,
            name=name,
            usage_mode=usage_mode,
            permission=permission,
            ownership_type=ownership,
            user_id=user_id,
            project_id=project_id,
            creator=creator,
            cloneable=cloneable,
            status=status,
            status_history={status: ts.isoformat()},
            status_changed=ts,
            created_at=ts,
            num_files=0,
            cur_size=0,
            location=location,
            read_only=read_only,
            storage_meta=storage_meta,
        )
    )
