"""Provides `DotfileService`: Backend.AI's dotfiles, written into every session's home.

Dotfiles belong to an access key (`user`), a project (`group`) or a domain (`domain`); a
session gets its domain's, then its projects', then its own, a later one replacing an earlier
one at the same path. Limits follow Backend.AI: at most 100 entries and 64 KiB in all per
owner, and some paths are reserved because the sandbox itself provides them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai.access import Principal, require_admin
from bai.db import tables as t
from bai.errors import Conflict, InvalidRequest, NotFound, QuotaExceeded
from bai.folders.repository import now
from bai.sessions.models import DotfileEntry

MAX_ENTRIES = 100
MAX_BYTES = 64 * 1024
RESERVED = frozenset({".terminfo", ".jupyter", ".ssh", ".ssh/authorized_keys", ".local", ".config"})
USER, GROUP, DOMAIN = "user", "group", "domain"
d = t.dotfiles


@dataclass(frozen=True)
class Dotfile:
    path: str
    permission: str  # octal digits, as Backend.AI sends them
    data: str


@dataclass(frozen=True)
class DotfileOwner:
    scope: str  # user, group or domain
    owner: str  # access key, project id or domain name


def check_path(path: str) -> str:
    p = PurePosixPath(path)
    if not path or str(p) == "." or p.is_absolute() or ".." in p.parts or "\0" in path:
        raise InvalidRequest(f"dotfile path {path!r} must be relative to /home/work, without '..'")
    if str(p) in RESERVED:
        raise InvalidRequest(
            f"dotfile path {path!r} is reserved by the session itself; choose another path"
        )
    if len(path) > 256:
        raise InvalidRequest("dotfile path is longer than 256 characters")
    return str(p)


def check_permission(perm: str) -> int:
    if not (3 <= len(perm) <= 4) or any(c not in "01234567" for c in perm):
        raise InvalidRequest(f"dotfile permission {perm!r} must be octal digits such as 755 or 644")
    return int(perm, 8)


def _size(entries: Iterable[Dotfile]) -> int:
    return sum(len(e.path.encode()) + len(e.data.encode()) + len(e.permission) for e in entries)


class DotfileService:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def owner(
        self, p: Principal, scope: str, *, group: str | None = None, domain: str | None = None
    ) -> DotfileOwner:
        """Whose dotfiles a request is about: the caller's own, or (administrators) a
        project's or a domain's."""
        if scope == USER:
            return DotfileOwner(USER, p.access_key)
        require_admin(p)
        if scope == DOMAIN:
            name = domain or p.domain
            if name != p.domain and not p.is_superadmin:
                raise NotFound(f"no domain {name!r}")
            return DotfileOwner(DOMAIN, name)
        if not group:
            raise InvalidRequest("name the project with `group`")
        async with self.engine.connect() as conn:
            cond = t.projects.c.name == group
            with contextlib.suppress(ValueError):  # a project named by its id
                cond = sa.or_(cond, t.projects.c.id == uuid.UUID(group))
            pid = await conn.scalar(sa.select(t.projects.c.id).where(cond))
        if pid is None:
            raise NotFound(f"no project {group!r}; `bai admin project list` shows them")
        return DotfileOwner(GROUP, str(pid))

    async def entries(self, owner: DotfileOwner) -> list[Dotfile]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(d.c.path, d.c.permission, d.c.data)
                .where(d.c.scope == owner.scope, d.c.owner == owner.owner)
                .order_by(d.c.path)
            )
            return [Dotfile(r.path, r.permission, r.data) for r in rows]

    async def get(self, owner: DotfileOwner, path: str) -> Dotfile:
        for f in await self.entries(owner):
            if f.path == path:
                return f
        raise NotFound(f"no dotfile {path!r}; `bai dotfile list` shows yours")

    async def create(self, owner: DotfileOwner, path: str, permission: str, data: str) -> None:
        path = check_path(path)
        check_permission(permission)
        entry = Dotfile(path, permission, data)
        async with self.engine.begin() as conn:
            existing = await self._rows(conn, owner)
            if any(e.path == path for e in existing):
                raise Conflict(f"dotfile {path!r} exists; change it with `bai dotfile update`")
            if len(existing) >= MAX_ENTRIES:
                raise QuotaExceeded(
                    f"no more than {MAX_ENTRIES} dotfiles are allowed; delete one first"
                )
            self._check_size([*existing, entry])
            await conn.execute(
                d.insert().values(
                    scope=owner.scope,
                    owner=owner.owner,
                    path=path,
                    permission=permission,
                    data=data,
                    updated_at=now(),
                )
            )

    async def update(self, owner: DotfileOwner, path: str, permission: str, data: str) -> None:
        path = check_path(path)
        check_permission(permission)
        async with self.engine.begin() as conn:
            existing = await self._rows(conn, owner)
            if not any(e.path == path for e in existing):
                raise NotFound(f"no dotfile {path!r}; create it with `bai dotfile create`")
            others = [e for e in existing if e.path != path]
            self._check_size([*others, Dotfile(path, permission, data)])
            await conn.execute(
                d.update()
                .where(d.c.scope == owner.scope, d.c.owner == owner.owner, d.c.path == path)
                .values(permission=permission, data=data, updated_at=now())
            )

    async def delete(self, owner: DotfileOwner, path: str) -> None:
        async with self.engine.begin() as conn:
            res = await conn.execute(
                d.delete().where(
                    d.c.scope == owner.scope, d.c.owner == owner.owner, d.c.path == path
                )
            )
        if not res.rowcount:
            raise NotFound(f"no dotfile {path!r}; `bai dotfile list` shows yours")

    async def for_session(self, p: Principal, projects: Iterable[uuid.UUID]) -> list[DotfileEntry]:
        """The dotfiles a new session of `p` gets: domain, then projects, then the user's."""
        owners = [
            DotfileOwner(DOMAIN, p.domain),
            *(DotfileOwner(GROUP, str(pid)) for pid in sorted(projects)),
            DotfileOwner(USER, p.access_key),
        ]
        merged: dict[str, Dotfile] = {}
        for o in owners:
            for f in await self.entries(o):
                merged[f.path] = f
        return [
            DotfileEntry(f.path, check_permission(f.permission), f.data) for f in merged.values()
        ]

    async def _rows(self, conn: AsyncConnection, owner: DotfileOwner) -> list[Dotfile]:
        rows = await conn.execute(
            sa.select(d.c.path, d.c.permission, d.c.data).where(
                d.c.scope == owner.scope, d.c.owner == owner.owner
            )
        )
        return [Dotfile(r.path, r.permission, r.data) for r in rows]

    @staticmethod
    def _check_size(entries: list[Dotfile]) -> None:
        if _size(entries) > MAX_BYTES:
            raise QuotaExceeded(
                f"dotfiles may hold {MAX_BYTES // 1024} KiB in all; shorten or delete some"
            )
