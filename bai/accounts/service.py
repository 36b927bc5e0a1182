"""Provides `AccountService`: users, projects, keypairs and resource policies.

Every mutating method takes the acting `Principal` and asks `bai.access` first.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai.access import (
    HOST_PERMISSIONS,
    Principal,
    check_role_change,
    require_admin,
)
from bai.accounts.models import (
    USER_STATUSES,
    Keypair,
    NewKeypair,
    User,
)
from bai.accounts.policies import DEFAULT_POLICY, PoliciesMixin
from bai.accounts.projects import ProjectsMixin
from bai.db import tables as t
from bai.enums import Role
from bai.errors import AuthFailed, Conflict, Forbidden, InvalidRequest, NotFound
from bai.secrets import NodeSecret, new_access_key, new_secret_key

DEFAULT_DOMAIN = "default"
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(ts: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything bai stores is UTC.
    if ts is not None and ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts


@dataclass(frozen=True)
class Bootstrap:
    """What the first start created; `admin_keypair` is set only on that first start."""

    admin_email: str
    admin_keypair: NewKeypair | None


@dataclass(frozen=True)
class AuthRecord:
    secret_key: str
    principal: Principal


class AccountService(ProjectsMixin, PoliciesMixin):
    """Users, keypairs and authentication here; projects and policies in their mixins."""

    def __init__(self, engine: AsyncEngine, secret: NodeSecret) -> None:
        self.engine = engine
        self.secret = secret

    # ---- bootstrap -------------------------------------------------------------------------

    async def bootstrap(self, admin_email: str, volumes: dict[str, str]) -> Bootstrap:
        """Create the default domain, policies and superadmin once; grant new volumes."""
        async with self.engine.begin() as conn:
            exists = await conn.scalar(sa.select(t.domains.c.name).limit(1))
            new_kp: NewKeypair | None = None
            if exists is None:
                now = _now()
                await conn.execute(
                    t.domains.insert().values(name=DEFAULT_DOMAIN, is_active=True, created_at=now)
                )
                for table in (t.user_resource_policies, t.project_resource_policies):
                    await conn.execute(
                        table.insert().values(
                            name=DEFAULT_POLICY, max_vfolder_count=0, max_quota_scope_size=0
                        )
                    )
                await conn.execute(
                    t.keypair_resource_policies.insert().values(
                        name=DEFAULT_POLICY,
                        allowed_vfolder_hosts={},
                        max_concurrent_sftp_sessions=1,
                    )
                )
                user_id = await self._insert_user(
                    conn,
                    admin_email,
                    admin_email,
                    "Node administrator",
                    "superadmin",
                    DEFAULT_POLICY,
                )
                new_kp = await self._insert_keypair(conn, user_id, admin_email, DEFAULT_POLICY)
            await self._grant_new_volumes(conn, volumes)
        return Bootstrap(admin_email, new_kp)

    async def _grant_new_volumes(self, conn: AsyncConnection, volumes: dict[str, str]) -> None:
        known = set((await conn.scalars(sa.select(t.volumes.c.name))).all())
        new = {name: backend for name, backend in volumes.items() if name not in known}
        if not new:
            return
        row = (
            await conn.execute(
                sa.select(t.keypair_resource_policies.c.allowed_vfolder_hosts).where(
                    t.keypair_resource_policies.c.name == DEFAULT_POLICY
                )
            )
        ).first()
        if row is not None:
            hosts = dict(row[0])
            for name in new:
                hosts.setdefault(name, list(HOST_PERMISSIONS))
            await conn.execute(
                t.keypair_resource_policies.update()
                .where(t.keypair_resource_policies.c.name == DEFAULT_POLICY)
                .values(allowed_vfolder_hosts=hosts)
            )
        for name, backend in new.items():
            await conn.execute(
                t.volumes.insert().values(name=name, backend=backend, first_seen=_now())
            )

    # ---- authentication --------------------------------------------------------------------

    async def auth_record(self, access_key: str) -> AuthRecord:
        """The secret and principal behind an access key, or AuthFailed saying why not."""
        k, u, p = t.keypairs, t.users, t.keypair_resource_policies
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        k.c.secret_key_enc,
                        k.c.is_active,
                        k.c.resource_policy,
                        u.c.id,
                        u.c.email,
                        u.c.role,
                        u.c.status,
                        u.c.domain_name,
                        p.c.allowed_vfolder_hosts,
                    )
                    .select_from(
                        k.join(u, u.c.id == k.c.user_id).join(p, p.c.name == k.c.resource_policy)
                    )
                    .where(k.c.access_key == access_key)
                )
            ).first()
        if row is None:
            raise AuthFailed(f"unknown access key {access_key!r}; check BACKEND_ACCESS_KEY")
        if not row.is_active:
            raise AuthFailed(
                f"access key {access_key!r} has been revoked; ask an admin for a new keypair"
            )
        if row.status != "active":
            raise AuthFailed(f"user {row.email} is inactive; ask an admin to reactivate it")
        principal = Principal(
            user_id=row.id,
            email=row.email,
            role=Role(row.role),
            domain=row.domain_name,
            access_key=access_key,
            keypair_policy=row.resource_policy,
            allowed_hosts={h: frozenset(v) for h, v in dict(row.allowed_vfolder_hosts).items()},
        )
        return AuthRecord(self.secret.decrypt(row.secret_key_enc), principal)

    async def touch_keypair(self, access_key: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                t.keypairs.update()
                .where(t.keypairs.c.access_key == access_key)
                .values(last_used=_now())
            )

    # ---- users -----------------------------------------------------------------------------

    async def _insert_user(
        self,
        conn: AsyncConnection,
        email: str,
        username: str,
        full_name: str,
        role: str,
        policy: str,
    ) -> uuid.UUID:
        user_id = uuid.uuid4()
        now = _now()
        try:
            await conn.execute(
                t.users.insert().values(
                    id=user_id,
                    email=email,
                    username=username,
                    full_name=full_name,
                    role=role,
                    status="active",
                    domain_name=DEFAULT_DOMAIN,
                    resource_policy=policy,
                    created_at=now,
                    modified_at=now,
                )
            )
        except IntegrityError:
            raise Conflict(
                f"a user with e-mail {email!r} or username {username!r} already exists"
            ) from None
        return user_id

    async def _insert_keypair(
        self, conn: AsyncConnection, user_id: uuid.UUID, email: str, policy: str
    ) -> NewKeypair:
        access, secret = new_access_key(), new_secret_key()
        await conn.execute(
            t.keypairs.insert().values(
                access_key=access,
                secret_key_enc=self.secret.encrypt(secret),
                user_id=user_id,
                is_active=True,
                resource_policy=policy,
                created_at=_now(),
            )
        )
        return NewKeypair(access, secret, email)

    async def create_user(
        self,
        actor: Principal,
        *,
        email: str,
        username: str | None = None,
        full_name: str = "",
        role: str = "user",
        resource_policy: str = DEFAULT_POLICY,
        keypair_policy: str = DEFAULT_POLICY,
        with_keypair: bool = True,
    ) -> tuple[User, NewKeypair | None]:
        check_role_change(actor, role, None)
        if not _EMAIL_RE.match(email) or len(email) > 128:
            raise InvalidRequest(f"{email!r} is not an e-mail address")
        username = username or email
        if not username.strip() or len(username) > 64:
            raise InvalidRequest("username must be 1 to 64 characters")
        async with self.engine.begin() as conn:
            await self._require_policy(conn, "user", resource_policy)
            if with_keypair:
                await self._require_policy(conn, "keypair", keypair_policy)
            user_id = await self._insert_user(
                conn, email, username, full_name, role, resource_policy
            )
            kp = (
                await self._insert_keypair(conn, user_id, email, keypair_policy)
                if with_keypair
                else None
            )
        return await self.get_user(email), kp

    async def get_user(self, ident: str) -> User:
        users = await self._users(self._user_where(ident))
        if not users:
            raise NotFound(f"no user {ident!r}; `bai admin user list` shows the users")
        return users[0]

    @staticmethod
    def _user_where(ident: str) -> sa.ColumnElement[bool]:
        try:
            return t.users.c.id == uuid.UUID(ident)
        except ValueError:
            return t.users.c.email == ident

    async def _users(self, where: sa.ColumnElement[bool] | None = None) -> list[User]:
        q = sa.select(t.users).order_by(t.users.c.created_at, t.users.c.email)
        if where is not None:
            q = q.where(where)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
            memberships = await self._memberships(conn, [r.id for r in rows])
        return [
            User(
                id=r.id,
                email=r.email,
                username=r.username,
                full_name=r.full_name,
                role=r.role,
                status=r.status,
                domain_name=r.domain_name,
                resource_policy=r.resource_policy,
                created_at=_aware(r.created_at) or _now(),
                projects=tuple(memberships.get(r.id, ())),
            )
            for r in rows
        ]

    async def _memberships(
        self, conn: AsyncConnection, user_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[str]]:
        if not user_ids:
            return {}
        rows = await conn.execute(
            sa.select(t.project_members.c.user_id, t.projects.c.name)
            .join(t.projects, t.projects.c.id == t.project_members.c.project_id)
            .where(t.project_members.c.user_id.in_(user_ids))
            .order_by(t.projects.c.name)
        )
        out: dict[uuid.UUID, list[str]] = {}
        for uid, name in rows:
            out.setdefault(uid, []).append(name)
        return out

    async def list_users(self, actor: Principal) -> list[User]:
        require_admin(actor)
        return await self._users()

    async def update_user(
        self,
        actor: Principal,
        ident: str,
        *,
        full_name: str | None = None,
        role: str | None = None,
        status: str | None = None,
        resource_policy: str | None = None,
        username: str | None = None,
    ) -> User:
        require_admin(actor)
        user = await self.get_user(ident)
        values: dict[str, Any] = {}
        if role is not None and role != user.role:
            check_role_change(actor, role, user.role)
            values["role"] = role
        elif user.role == "superadmin" and not actor.is_superadmin:
            raise Forbidden("only a superadmin can change a superadmin account")
        if status is not None:
            if status not in USER_STATUSES:
                raise InvalidRequest(f"status must be one of {', '.join(USER_STATUSES)}")
            if status == "inactive" and user.id == actor.user_id:
                raise Forbidden("you cannot deactivate your own account")
            values["status"] = status
        if full_name is not None:
            values["full_name"] = full_name
        if username is not None:
            values["username"] = username
        async with self.engine.begin() as conn:
            if resource_policy is not None:
                await self._require_policy(conn, "user", resource_policy)
                values["resource_policy"] = resource_policy
            if values:
                values["modified_at"] = _now()
                try:
                    await conn.execute(
                        t.users.update().where(t.users.c.id == user.id).values(**values)
                    )
                except IntegrityError:
                    raise Conflict(f"username {username!r} is taken") from None
        return await self.get_user(str(user.id))

    # ---- keypairs --------------------------------------------------------------------------

    async def create_keypair(
        self, actor: Principal, email: str, resource_policy: str = DEFAULT_POLICY
    ) -> NewKeypair:
        require_admin(actor)
        user = await self.get_user(email)
        if user.role == "superadmin" and not actor.is_superadmin:
            raise Forbidden("only a superadmin can issue keys for a superadmin")
        async with self.engine.begin() as conn:
            await self._require_policy(conn, "keypair", resource_policy)
            return await self._insert_keypair(conn, user.id, user.email, resource_policy)

    async def list_keypairs(self, actor: Principal, email: str | None = None) -> list[Keypair]:
        if email is None and not actor.is_admin:
            email = actor.email
        if email != actor.email:
            require_admin(actor)
        k, u = t.keypairs, t.users
        q = (
            sa.select(
                k.c.access_key,
                u.c.email,
                k.c.is_active,
                k.c.resource_policy,
                k.c.created_at,
                k.c.last_used,
            )
            .join(u, u.c.id == k.c.user_id)
            .order_by(k.c.created_at, k.c.access_key)
        )
        if email is not None:
            q = q.where(u.c.email == email)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [
            Keypair(
                r.access_key,
                r.email,
                r.is_active,
                r.resource_policy,
                _aware(r.created_at) or _now(),
                _aware(r.last_used),
            )
            for r in rows
        ]

    async def revoke_keypair(self, actor: Principal, access_key: str) -> Keypair:
        require_admin(actor)
        async with self.engine.begin() as conn:
            res = await conn.execute(
                t.keypairs.update()
                .where(t.keypairs.c.access_key == access_key)
                .values(is_active=False)
            )
            if res.rowcount == 0:
                raise NotFound(f"no keypair with access key {access_key!r}")
        return next(kp for kp in await self.list_keypairs(actor) if kp.access_key == access_key)
