"""Provides `SessionService`: compute sessions — create, inspect, execute in, and destroy.

A session is a scratch home (`/home/work`), the folders mounted into it, and the runs of
commands in its sandbox. Its record lives in the database (so a node that died can clean up
after it: mounts released, scratch removed, state `terminated`); its runs and console log
live in memory. The sandbox itself is the business of the `SessionRunner` that `bai serve`
attaches; without one, sessions cannot start and say so.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import dataclasses
import logging
import re
import secrets
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.access import Principal
from bai.config import NodeConfig
from bai.db import tables as t
from bai.errors import (
    BaiError,
    Conflict,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from bai.folders.repository import member_projects, now, ref_of
from bai.folders.service import FolderService
from bai.sessions.dotfiles import DotfileService
from bai.sessions.environ import session_environ
from bai.sessions.limits import limits_for
from bai.sessions.models import (
    LIVE,
    BoundMount,
    ComputeSession,
    SandboxSpec,
    SessionState,
)
from bai.sessions.mountspec import merge_requests
from bai.sessions.planning import PlannedMount, check_dotfiles, pipeline_folder, plan_mounts
from bai.sessions.records import load_sessions, mark_folders, unmark_folders
from bai.sessions.runner import SessionRunner
from bai.sessions.runs import Poll, Run
from bai.storage.base import Volume

log = logging.getLogger("bai.sessions")
s_t, m_t = t.sessions, t.session_mounts
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{3,63}$")


@dataclass(frozen=True)
class SessionRequest:
    image: str
    name: str | None = None
    mounts: list[str] = field(default_factory=list)  # specs, Backend.AI's grammar
    mount_map: dict[str, str] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)  # cpu, mem, pids
    pipeline: str | None = None
    reuse: bool = True


@dataclass
class _Live:
    spec: SandboxSpec
    held: list[tuple[Volume, PlannedMount]]
    log_limit: int
    runs: dict[str, Run] = field(default_factory=dict)
    log: bytearray = field(default_factory=bytearray)

    def record(self, data: bytes) -> None:
        self.log += data
        if len(self.log) > self.log_limit:
            del self.log[: len(self.log) - self.log_limit]

    @property
    def busy(self) -> Run | None:
        return next((r for r in self.runs.values() if not r.finished), None)


class SessionService:
    def __init__(
        self,
        engine: AsyncEngine,
        config: NodeConfig,
        folders: FolderService,
        dotfiles: DotfileService,
    ) -> None:
        self.engine = engine
        self.config = config
        self.folders = folders
        self.dotfiles = dotfiles
        self.runner: SessionRunner | None = None
        self.root = config.data_dir / "sessions"
        self._live: dict[uuid.UUID, _Live] = {}
        self._lock = asyncio.Lock()

    def attach(self, runner: SessionRunner | None) -> None:
        self.runner = runner

    # ---- lifecycle ---------------------------------------------------------------------------

    async def recover(self) -> int:
        """At node start: sessions that were live when the node stopped are over."""
        async with self.engine.begin() as conn:
            ids = list((await conn.scalars(sa.select(s_t.c.id).where(s_t.c.state.in_(LIVE)))).all())
            if ids:
                await conn.execute(
                    s_t.update()
                    .where(s_t.c.id.in_(ids))
                    .values(
                        state=SessionState.TERMINATED,
                        status_info="node restarted",
                        terminated_at=now(),
                    )
                )
                await unmark_folders(conn, ids)
        if self.root.exists():
            await asyncio.to_thread(_remove_children, self.root)
        return len(ids)

    async def stop(self) -> None:
        """At node stop: every live session ends cleanly."""
        for sid in list(self._live):
            with contextlib.suppress(Exception):
                await self._terminate(sid, SessionState.TERMINATED, "node stopped")

    # ---- queries -----------------------------------------------------------------------------

    async def list(self, p: Principal, *, every: bool = False) -> list[ComputeSession]:
        cond = None if (every and p.is_admin) else s_t.c.access_key == p.access_key
        async with self.engine.connect() as conn:
            return await load_sessions(conn, cond)

    async def get(self, p: Principal, ident: str) -> ComputeSession:
        try:
            cond = s_t.c.id == uuid.UUID(ident)
            if not p.is_admin:
                cond = sa.and_(cond, s_t.c.access_key == p.access_key)
        except ValueError:
            cond = sa.and_(s_t.c.name == ident, s_t.c.access_key == p.access_key)
        async with self.engine.connect() as conn:
            found = await load_sessions(conn, cond)
        if not found:
            raise NotFound(f"no session {ident!r}; `bai session list` shows yours")
        live = [s for s in found if s.state in LIVE]
        return live[0] if live else found[-1]

    async def logs(self, p: Principal, ident: str) -> str:
        s = await self.get(p, ident)
        live = self._live.get(s.id)
        return live.log.decode("utf-8", "replace") if live is not None else ""

    # ---- create and destroy ------------------------------------------------------------------

    async def create(self, p: Principal, req: SessionRequest) -> tuple[ComputeSession, bool]:
        runner = self.runner
        if runner is None:
            raise ServiceUnavailable(
                "this node runs no compute sessions (no agent attached); start it with `bai serve`"
            )
        name = req.name or f"bai-{secrets.token_hex(4)}"
        if not _NAME_RE.match(name):
            raise InvalidRequest(
                f"session name {name!r} must be 4-64 letters, digits, '.', '_' or '-'"
            )
        images = self.config.images
        if not req.image and len(images) == 1:
            req = dataclasses.replace(req, image=next(iter(images)))
        image = images.get(req.image)
        if image is None:
            known = ", ".join(sorted(self.config.images)) or "none"
            what = f"no image {req.image!r} on this node" if req.image else "name an image"
            raise NotFound(
                f"{what}; known images: {known} "
                '(an operator adds them as [image."NAME"] in node.toml)'
            )
        async with self._lock:
            mine = [s for s in await self.list(p) if s.state in LIVE]
            same = [s for s in mine if s.name == name]
            if same:
                if req.reuse and same[0].image == req.image:
                    return same[0], False
                raise Conflict(f"session {name!r} exists; choose another name or destroy it")
            if len(mine) >= self.config.sessions.max_per_keypair:
                raise TooManyRequests(
                    f"you have {len(mine)} live sessions, the most allowed; destroy one first"
                )
            limits = limits_for(image, req.resources)
            pipeline = None
            if req.pipeline:
                pipeline = await pipeline_folder(self.folders, p, req.pipeline)
            requests = merge_requests(req.mounts, req.mount_map)
            planned = await plan_mounts(self.folders, p, requests, image.rootfs, pipeline)
            async with self.engine.connect() as conn:
                projects = await member_projects(conn, p.user_id)
            dotfiles = await self.dotfiles.for_session(p, projects)
            check_dotfiles(dotfiles, planned)
            sid = uuid.uuid4()
            environ = session_environ(sid, name, image, planned, req.environ)
            async with self.engine.begin() as conn:
                await conn.execute(
                    s_t.insert().values(
                        id=sid,
                        name=name,
                        access_key=p.access_key,
                        user_id=p.user_id,
                        image=req.image,
                        state=SessionState.PREPARING,
                        environ=req.environ,
                        created_at=now(),
                    )
                )
                for m in planned:
                    await conn.execute(
                        m_t.insert().values(
                            session_id=sid,
                            target=str(m.target),
                            folder_id=m.folder.id,
                            read_only=m.read_only,
                        )
                    )
                await mark_folders(conn, [m.folder.id for m in planned])
        live = _Live(
            SandboxSpec(sid, self.root / sid.hex, image, (), tuple(dotfiles), environ, limits,
                        image.network, self._hidden()),
            [],
            self.config.sessions.log_bytes,
        )  # fmt: skip
        self._live[sid] = live
        try:
            binds = []
            for m in planned:
                vol = self.folders.volume(m.folder.host)
                path = await vol.acquire_mount(ref_of(m.folder))
                live.held.append((vol, m))
                if m.subdir is not None:  # a member's own directory of a project's .local
                    sub = PurePosixPath(m.subdir)
                    await vol.mkdir(ref_of(m.folder), sub, parents=False, exist_ok=True)
                    path = path / m.subdir
                binds.append((path, m))
            live.spec = dataclasses.replace(
                live.spec,
                mounts=tuple(BoundMount(path, m.target, m.read_only) for path, m in binds),
            )
            await runner.prepare(live.spec)
        except BaseException as e:
            info = e.msg if isinstance(e, BaiError) else "could not start"
            await self._terminate(sid, SessionState.ERROR, info[:256])
            raise
        async with self.engine.begin() as conn:
            await conn.execute(
                s_t.update().where(s_t.c.id == sid).values(state=SessionState.RUNNING)
            )
        log.info("session %s (%s) started for %s", name, sid, p.email)
        return await self.get(p, str(sid)), True

    async def destroy(self, p: Principal, ident: str) -> ComputeSession:
        s = await self.get(p, ident)
        if s.state not in LIVE:
            raise NotFound(f"session {s.name!r} is {s.state}: there is nothing to destroy")
        await self._terminate(s.id, SessionState.TERMINATED, "user-requested")
        return await self.get(p, str(s.id))

    async def _terminate(self, sid: uuid.UUID, state: SessionState, info: str) -> None:
        live = self._live.pop(sid, None)
        if live is not None:
            for run in list(live.runs.values()):
                await run.cancel()
            if self.runner is not None:
                with contextlib.suppress(Exception):
                    await self.runner.teardown(live.spec)
            await asyncio.to_thread(shutil.rmtree, live.spec.scratch, True)
            for vol, m in live.held:
                try:
                    await vol.release_mount(ref_of(m.folder))
                except Exception:  # one stuck mount must not keep the others
                    log.exception("releasing the mount of folder %s failed", m.folder.id)
        async with self.engine.begin() as conn:
            await conn.execute(
                s_t.update()
                .where(s_t.c.id == sid)
                .values(state=state, status_info=info, terminated_at=now())
            )
            await unmark_folders(conn, [sid])

    def _hidden(self) -> tuple[Path, ...]:
        """What no session may see, as configured and as resolved (a symlinked data
        directory would otherwise show through the directory it really is in)."""
        paths = [self.config.data_dir]
        paths += [v.config.path for v in self.folders.hosts.volumes.values() if v.config.path]
        if self.config.source is not None:
            paths.append(self.config.source)  # node.toml may hold a volume's secret key
        out: list[Path] = []
        for p in paths:
            for q in (p, p.resolve()):
                if q not in out:
                    out.append(q)
        return tuple(out)

    # ---- execution ---------------------------------------------------------------------------

    async def execute(
        self,
        p: Principal,
        ident: str,
        *,
        mode: str,
        code: str,
        run_id: str | None,
        options: dict[str, object] | None = None,
        wait: float = 10.0,
    ) -> tuple[str, Poll]:
        """Start a run (`query`, `batch`) or fetch more of one (`continue`); the run's id and
        the output since the last call."""
        s = await self.get(p, ident)
        live = self._live.get(s.id)
        if s.state not in LIVE or live is None:
            raise Conflict(f"session {s.name!r} is {s.state}; create a new one")
        if mode == "continue":
            run = live.runs.get(run_id or "")
            if run is None:
                raise NotFound(f"no run {run_id!r} in session {s.name!r}")
        elif mode in ("query", "batch"):
            busy = live.busy
            if busy is not None:
                raise Conflict(f"session {s.name!r} is busy with run {busy.id}; wait for it")
            argv = _argv(live.spec, mode, code, options or {})
            run = Run(id=run_id or secrets.token_hex(8))
            live.runs = {k: r for k, r in live.runs.items() if not r.finished}
            live.runs[run.id] = run
            self._start(live, run, argv)
        else:
            raise InvalidRequest(
                f"execution mode {mode!r} is not supported here; use query, batch or continue"
            )
        result = await run.poll(wait)
        if result.finished:
            live.runs.pop(run.id, None)
        return run.id, result

    def _start(self, live: _Live, run: Run, argv: builtins.list[str]) -> None:
        runner = self.runner
        assert runner is not None

        async def sink(stream: str, data: bytes) -> None:
            run.feed(stream, data)
            live.record(data)
            await run.room()

        async def body(_: Run) -> int:
            return await runner.run(live.spec, argv, sink)

        run.start(body)


def _argv(
    spec: SandboxSpec, mode: str, code: str, options: dict[str, object]
) -> builtins.list[str]:
    if mode == "query":
        return [*spec.image.query, code]
    steps = []
    for key in ("clean", "build", "exec"):
        cmd = options.get(key)
        if isinstance(cmd, str) and cmd and cmd != "*":
            steps.append(cmd)
    if not steps:
        raise InvalidRequest("batch mode needs options.exec: the command to run")
    return ["/bin/sh", "-c", " && ".join(f"( {c} )" for c in steps)]


def _remove_children(root: Path) -> None:
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
