"""Provides `SftpSessionService`: "Run SFTP server" sessions — which folders a caller's SSH
key may reach over SFTP, until the session is stopped or idle for too long.

A session is a grant, not a process: Backend.AI starts a container per SFTP session; here the
node's one SFTP service serves them all. A caller's live sessions together decide what their
key sees: a read-only root whose directories are the sessions' folders. The keypair policy's
`max_concurrent_sftp_sessions` bounds how many sessions are live at once (0: no bound), and a
request for folders that a live session already holds reuses it. Every file operation through
the service counts as activity; `idle_timeout` seconds without any end the session, as does
`end`. Live sessions are kept in memory (the SFTP service asks on every request) and in the
database, so they survive a restart of the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bai import access
from bai.access import FolderAction, Principal
from bai.accounts.service import AccountService
from bai.accounts.ssh_keys import SshKeyService
from bai.db import tables as t
from bai.errors import AuthFailed, InvalidRequest, NotFound, ServiceUnavailable, TooManyRequests
from bai.folders.models import VFolder
from bai.folders.service import FolderService

log = logging.getLogger("bai.sftp")

IDLE = "idle"
MAX_FOLDERS = 64
STOPPED = "stopped"
s_t, sf_t = t.sftp_sessions, t.sftp_session_folders


@dataclass(frozen=True)
class SftpEndpoint:
    """Where clients reach the SFTP service; the transport sets it once it listens."""

    host: str
    port: int
    user: str
    host_key_fingerprint: str


@dataclass(frozen=True)
class SessionFolder:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class SftpSession:
    id: uuid.UUID
    access_key: str
    owner_email: str
    folders: tuple[SessionFolder, ...]
    created_at: datetime
    last_activity: datetime
    idle_timeout: float
    ended_at: datetime | None = None
    end_reason: str | None = None

    @property
    def expires_at(self) -> datetime | None:
        if self.ended_at is not None:
            return None
        return self.last_activity + timedelta(seconds=self.idle_timeout)


@dataclass
class _Live:
    id: uuid.UUID
    access_key: str
    folder_ids: frozenset[uuid.UUID]
    created_at: datetime
    last_activity: float  # epoch seconds, updated on every request that touches a folder
    flushed: float = 0.0  # what the database holds


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _epoch(ts: datetime) -> float:
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class SftpLogin:
    """What a login with an SSH key found: the caller, or why nobody (`refusal`)."""

    principal: Principal | None
    refusal: str = ""


class SftpSessionService:
    def __init__(
        self,
        engine: AsyncEngine,
        folders: FolderService,
        accounts: AccountService,
        ssh_keys: SshKeyService,
        idle_timeout: float,
    ) -> None:
        self.engine = engine
        self.folders = folders
        self.accounts = accounts
        self.ssh_keys = ssh_keys
        self.idle_timeout = idle_timeout
        self.endpoint: SftpEndpoint | None = None
        self._live: dict[uuid.UUID, _Live] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._lock = asyncio.Lock()
        self._loop: asyncio.Task[None] | None = None

    # ---- lifecycle (the node's background loop) -------------------------------------------

    async def start(self) -> None:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(s_t).where(s_t.c.ended_at.is_(None)))).all()
            links = (await conn.execute(sa.select(sf_t))).all()
        by_session: dict[uuid.UUID, set[uuid.UUID]] = {}
        for sid, fid in links:
            by_session.setdefault(sid, set()).add(fid)
        for r in rows:
            seen = _epoch(r.last_activity)
            self._live[r.id] = _Live(
                r.id, r.access_key, frozenset(by_session.get(r.id, ())), r.created_at, seen, seen
            )
        await self.expire()  # sessions that went idle while the node was down
        self._loop = asyncio.create_task(self._tick(), name="bai-sftp-sessions")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        await self._flush()

    async def _tick(self) -> None:
        interval = min(30.0, max(0.2, self.idle_timeout / 10))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.expire()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("SFTP session expiry failed")

    def add_listener(self, callback: Callable[[str], None]) -> None:
        """`callback(access_key)` runs when a session of that access key ends."""
        self._listeners.append(callback)

    # ---- what callers ask for (HTTP API) ----------------------------------------------------

    async def open(self, p: Principal, names: Iterable[str]) -> tuple[SftpSession, bool]:
        """A live session holding the named folders: one that already does (reused, True),
        or a new one within the policy's limit (False)."""
        if self.endpoint is None:
            raise ServiceUnavailable(
                "the SFTP service is not running on this node (see [sftp] in node.toml)"
            )
        names = list(names)
        if len(names) > MAX_FOLDERS:
            raise InvalidRequest(f"a session serves at most {MAX_FOLDERS} folders")
        wanted: dict[uuid.UUID, VFolder] = {}
        for name in names:
            folder = await self.folders.get(p, name, access.LIST_FILES)
            wanted[folder.id] = folder
        if not wanted:
            raise InvalidRequest("name at least one folder to serve over SFTP")
        async with self._lock:
            mine = self._sessions_of(p.access_key)
            for live in mine:
                if wanted.keys() <= live.folder_ids:
                    live.last_activity = time.time()
                    return await self._view(live), True
            limit = await self._limit(p)
            if limit and len(mine) >= limit:
                raise TooManyRequests(
                    f"you have {len(mine)} live SFTP session(s) and your keypair's policy "
                    f"allows {limit} (max_concurrent_sftp_sessions); stop one with `bai vfolder "
                    "sftp --stop`, or start one session for every folder you need "
                    "(`bai vfolder sftp NAME NAME…`)"
                )
            now = time.time()
            live = _Live(uuid.uuid4(), p.access_key, frozenset(wanted), _ts(now), now, now)
            async with self.engine.begin() as conn:
                await conn.execute(
                    s_t.insert().values(
                        id=live.id,
                        access_key=p.access_key,
                        created_at=live.created_at,
                        last_activity=live.created_at,
                    )
                )
                await conn.execute(
                    sf_t.insert(), [{"session_id": live.id, "folder_id": f} for f in wanted]
                )
            self._live[live.id] = live
        log.info("SFTP session %s started for %s", live.id, p.email)
        return await self._view(live), False

    async def sessions(self, p: Principal, everyone: bool = False) -> list[SftpSession]:
        """The caller's live sessions (administrators: everyone's, if asked)."""
        if everyone:
            access.require_admin(p)
        lives = sorted(
            (s for s in self._live.values() if everyone or s.access_key == p.access_key),
            key=lambda s: s.created_at,
        )
        return [await self._view(s) for s in lives]

    async def end(self, p: Principal, session_id: uuid.UUID) -> SftpSession:
        live = self._live.get(session_id)
        if live is None or (live.access_key != p.access_key and not p.is_admin):
            raise NotFound(
                f"no live SFTP session {session_id}; `bai vfolder sftp --list` shows yours"
            )
        view = await self._view(live)
        await self._end([live], STOPPED)
        return dataclasses.replace(view, ended_at=datetime.now(UTC), end_reason=STOPPED)

    # ---- what the SFTP service asks ---------------------------------------------------------

    async def login(self, fingerprint: str) -> SftpLogin:
        """The caller behind an SSH key, if the key is known and has a live session."""
        access_key = await self.ssh_keys.access_key_of(fingerprint)
        if access_key is None:
            return SftpLogin(None)
        if not self.is_live(access_key):
            return SftpLogin(
                None,
                "bai: this key has no live SFTP session (it was stopped, or ended after "
                f"{self.idle_timeout / 60:g} min without transfers); start one with "
                "`bai vfolder sftp NAME`",
            )
        try:
            principal = (await self.accounts.auth_record(access_key)).principal
        except AuthFailed as e:
            return SftpLogin(None, f"bai: {e.msg}")
        return SftpLogin(principal)

    def is_live(self, access_key: str) -> bool:
        return any(True for _ in self._sessions_of(access_key))

    def folder_ids(self, access_key: str) -> frozenset[uuid.UUID]:
        ids: frozenset[uuid.UUID] = frozenset()
        for live in self._sessions_of(access_key):
            ids |= live.folder_ids
        return ids

    def touch(self, access_key: str, folder_id: uuid.UUID) -> None:
        """A request worked on `folder_id`: the sessions holding it are not idle."""
        now = time.time()
        for live in self._sessions_of(access_key):
            if folder_id in live.folder_ids:
                live.last_activity = now

    async def folder(self, p: Principal, name: str, action: FolderAction) -> VFolder:
        """A folder of the caller's live sessions, by the name it has now, allowed `action`."""
        ids = self.folder_ids(p.access_key)
        if not ids:
            raise AuthFailed(
                "your SFTP session has ended (stopped, or idle too long); start a new one with "
                "`bai vfolder sftp NAME`"
            )
        try:
            folder = await self.folders.get(p, name, action)
        except NotFound:
            folder = None
        if folder is None or folder.id not in ids:
            raise NotFound(f"no folder {name!r} in your SFTP session")
        self.touch(p.access_key, folder.id)
        return folder

    async def root(self, p: Principal) -> list[VFolder]:
        """The folders the caller's root shows: those of their live sessions they still see."""
        ids = self.folder_ids(p.access_key)
        if not ids:
            return []
        return [f for f in await self.folders.list(p) if f.id in ids]

    # ---- expiry ---------------------------------------------------------------------------

    async def expire(self) -> int:
        deadline = time.time() - self.idle_timeout
        idle = [s for s in self._live.values() if s.last_activity < deadline]
        if idle:
            await self._end(idle, IDLE)
        await self._flush()
        return len(idle)

    async def _end(self, lives: list[_Live], reason: str) -> None:
        async with self.engine.begin() as conn:
            for live in lives:
                ended = time.time() if reason == STOPPED else live.last_activity + self.idle_timeout
                await conn.execute(
                    s_t.update()
                    .where(s_t.c.id == live.id)
                    .values(
                        ended_at=_ts(ended),
                        end_reason=reason,
                        last_activity=_ts(live.last_activity),
                    )
                )
        for live in lives:
            self._live.pop(live.id, None)
            log.info("SFTP session %s ended (%s)", live.id, reason)
        for access_key in {live.access_key for live in lives}:
            for callback in self._listeners:
                callback(access_key)

    async def _flush(self) -> None:
        stale = [s for s in self._live.values() if s.last_activity > s.flushed]
        if not stale:
            return
        async with self.engine.begin() as conn:
            for live in stale:
                await conn.execute(
                    s_t.update()
                    .where(s_t.c.id == live.id)
                    .values(last_activity=_ts(live.last_activity))
                )
                live.flushed = live.last_activity

    # ---- helpers --------------------------------------------------------------------------

    def _sessions_of(self, access_key: str) -> list[_Live]:
        return [s for s in self._live.values() if s.access_key == access_key]

    async def _limit(self, p: Principal) -> int:
        policies = t.keypair_resource_policies
        async with self.engine.connect() as conn:
            limit = await conn.scalar(
                sa.select(policies.c.max_concurrent_sftp_sessions).where(
                    policies.c.name == p.keypair_policy
                )
            )
        return int(limit or 0)

    async def _view(self, live: _Live) -> SftpSession:
        v, k, u = t.vfolders, t.keypairs, t.users
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(v.c.id, v.c.name)
                    .where(v.c.id.in_(live.folder_ids))
                    .order_by(v.c.name)
                )
            ).all()
            email = await conn.scalar(
                sa.select(u.c.email)
                .join(k, k.c.user_id == u.c.id)
                .where(k.c.access_key == live.access_key)
            )
        return SftpSession(
            id=live.id,
            access_key=live.access_key,
            owner_email=str(email or ""),
            folders=tuple(SessionFolder(r.id, r.name) for r in rows),
            created_at=_ts(_epoch(live.created_at)),
            last_activity=_ts(live.last_activity),
            idle_timeout=self.idle_timeout,
        )
