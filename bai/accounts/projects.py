"""Provides projects and their members for `AccountService`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai.access import Principal, require_admin
from bai.accounts.models import Project, User
from bai.accounts.policies import DEFAULT_POLICY
from bai.db import tables as t
from bai.errors import Conflict, InvalidRequest, NotFound

DEFAULT_DOMAIN = "default"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(ts: datetime | None) -> datetime | None:
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


class ProjectsMixin:
    engine: AsyncEngine

    if TYPE_CHECKING:  # provided by AccountService and PoliciesMixin

        async def get_user(self, ident: str) -> User: ...

        async def _require_policy(self, conn: AsyncConnection, kind: str, name: str) -> None: ...

    # ---- projects --------------------------------------------------------------------------

    async def create_project(
        self,
        actor: Principal,
        name: str,
        description: str = "",
        resource_policy: str = DEFAULT_POLICY,
    ) -> Project:
        require_admin(actor)
        if not _NAME_RE.match(name):
            raise InvalidRequest(
                f"project name {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        async with self.engine.begin() as conn:
            await self._require_policy(conn, "project", resource_policy)
            try:
                await conn.execute(
                    t.projects.insert().values(
                        id=uuid.uuid4(),
                        name=name,
                        description=description,
                        domain_name=DEFAULT_DOMAIN,
                        is_active=True,
                        resource_policy=resource_policy,
                        created_at=_now(),
                    )
                )
            except IntegrityError:
                raise Conflict(f"project {name!r} already exists") from None
        return await self.get_project(name)

    async def get_project(self, ident: str) -> Project:
        try:
            where = t.projects.c.id == uuid.UUID(ident)
        except ValueError:
            where = t.projects.c.name == ident
        found = await self._projects(where)
        if not found:
            raise NotFound(f"no project {ident!r}; `bai admin project list` shows the projects")
        return found[0]

    async def _projects(self, where: sa.ColumnElement[bool] | None = None) -> list[Project]:
        q = sa.select(t.projects).order_by(t.projects.c.name)
        if where is not None:
            q = q.where(where)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
            members: dict[uuid.UUID, list[str]] = {}
            if rows:
                mrows = await conn.execute(
                    sa.select(t.project_members.c.project_id, t.users.c.email)
                    .join(t.users, t.users.c.id == t.project_members.c.user_id)
                    .where(t.project_members.c.project_id.in_([r.id for r in rows]))
                    .order_by(t.users.c.email)
                )
                for pid, email in mrows:
                    members.setdefault(pid, []).append(email)
        return [
            Project(
                id=r.id,
                name=r.name,
                description=r.description,
                domain_name=r.domain_name,
                is_active=r.is_active,
                resource_policy=r.resource_policy,
                created_at=_aware(r.created_at) or _now(),
                members=tuple(members.get(r.id, ())),
            )
            for r in rows
        ]

    async def list_projects(self, actor: Principal) -> list[Project]:
        if actor.is_admin:
            return await self._projects()
        mine = sa.select(t.project_members.c.project_id).where(
            t.project_members.c.user_id == actor.user_id
        )
        return await self._projects(t.projects.c.id.in_(mine))

    async def add_member(self, actor: Principal, project: str, emails: Iterable[str]) -> Project:
        require_admin(actor)
        proj = await self.get_project(project)
        users = [await self.get_user(e) for e in emails]
        async with self.engine.begin() as conn:
            for u in users:
                if u.email in proj.members:
                    continue
                await conn.execute(
                    t.project_members.insert().values(project_id=proj.id, user_id=u.id)
                )
        return await self.get_project(str(proj.id))

    async def remove_member(self, actor: Principal, project: str, emails: Iterable[str]) -> Project:
        require_admin(actor)
        proj = await self.get_project(project)
        users = [await self.get_user(e) for e in emails]
        for u in users:
            if u.email not in proj.members:
                raise NotFound(f"{u.email} is not a member of project {proj.name!r}")
        async with self.engine.begin() as conn:
            await conn.execute(
                t.project_members.delete().where(
                    t.project_members.c.project_id == proj.id,
                    t.project_members.c.user_id.in_([u.id for u in users]),
                )
            )
        return await self.get_project(str(proj.id))
