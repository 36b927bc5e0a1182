"""Provides `TaskRunner`: background work claimed through the database.

A task row is `pending` until a node claims it (`running`, with its node id and a heartbeat);
it ends `done` or `failed`. At start a node re-queues its own unfinished tasks, and any node
re-queues tasks whose heartbeat went stale (or whose node the registry marked down), so
interrupted work resumes. A node claims only tasks whose folders live on volumes it serves.
Claims are decided by the database: `FOR UPDATE SKIP LOCKED` on PostgreSQL, and a
compare-and-set UPDATE on both, so of several nodes exactly one wins a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai.db import tables as t
from bai.db.errors import retrying
from bai.errors import BaiError, NotFound
from bai.folders.repository import now

log = logging.getLogger("bai.tasks")
b = t.bgtasks

HEARTBEAT = 5.0
STALE_AFTER = timedelta(seconds=30)


@dataclass
class TaskContext:
    id: uuid.UUID
    kind: str
    folder_id: uuid.UUID
    target_id: uuid.UUID | None
    current: int = 0
    total: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def progress(self, current: int, total: int) -> None:
        # Called from worker threads; plain attribute writes, flushed by the heartbeat.
        self.current, self.total = current, total


Handler = Callable[[TaskContext], Awaitable[None]]
Failure = Callable[[TaskContext, BaseException], Awaitable[None]]


class TaskRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        node_id: str,
        concurrency: int = 2,
        *,
        hosts: Collection[str] | None = None,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.engine = engine
        self.node_id = node_id
        self.hosts = set(hosts) if hosts is not None else None  # None: every host
        self.stale_after = stale_after
        self.handlers: dict[str, tuple[Handler, Failure]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(concurrency)

    def register(self, kind: str, handler: Handler, on_failure: Failure) -> None:
        self.handlers[kind] = (handler, on_failure)

    async def submit(
        self,
        conn: AsyncConnection,
        kind: str,
        folder_id: uuid.UUID,
        target_id: uuid.UUID | None = None,
        params: dict[str, Any] | None = None,
    ) -> uuid.UUID:
        """Queue a task inside the caller's transaction; it starts after the commit."""
        task_id = uuid.uuid4()
        await conn.execute(
            b.insert().values(
                id=task_id,
                kind=kind,
                folder_id=folder_id,
                target_id=target_id,
                status="pending",
                current=0,
                total=0,
                message="",
                created_at=now(),
                params=params,
            )
        )
        return task_id

    def wake(self) -> None:
        self._wake.set()

    async def wait(self, task_id: uuid.UUID, timeout: float) -> dict[str, Any] | None:
        """The task once it has ended, or None if it is still going after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            task = await self.get(task_id)
            if task["status"] in ("done", "failed"):
                return task
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(0.1)

    async def get(self, task_id: uuid.UUID) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(b).where(b.c.id == task_id))).first()
        if row is None:
            raise NotFound(f"no background task {task_id}")
        return {
            "task_id": str(row.id),
            "kind": row.kind,
            "status": row.status,
            "current": row.current,
            "total": row.total,
            "message": row.message,
            "folder_id": str(row.folder_id),
            "target_id": str(row.target_id) if row.target_id else None,
        }

    async def start(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                b.update()
                .where(
                    b.c.status == "running",
                    sa.or_(
                        b.c.claimed_by == self.node_id,
                        b.c.heartbeat_at < now() - self.stale_after,
                    ),
                )
                .values(status="pending", claimed_by=None)
            )
        self._loop_task = asyncio.create_task(self._loop(), name="bai-task-runner")

    async def stop(self) -> None:
        if self._loop_task:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for task in list(self._running):
            task.cancel()
        for task in list(self._running):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self._claim_and_run()
            except Exception:  # keep the runner alive; the task rows say what failed
                log.exception("background task loop error")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=HEARTBEAT)

    async def _claim_and_run(self) -> None:
        while not self._slots.locked():
            ctx = await self._claim_one()
            if ctx is None:
                return
            await self._slots.acquire()
            task = asyncio.create_task(self._run(ctx), name=f"bai-task-{ctx.kind}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _claim_one(self) -> TaskContext | None:
        return await retrying(self._claim_once)

    def _candidates(self) -> sa.Select[Any]:
        stale = now() - self.stale_after
        query = sa.select(b).where(
            sa.or_(
                b.c.status == "pending",
                sa.and_(b.c.status == "running", b.c.heartbeat_at < stale),
            )
        )
        if self.hosts is not None:
            # Only tasks whose folders (source and target) are on volumes this node has: a
            # node-local volume's work waits for its node.
            src, dst = t.vfolders.alias("src"), t.vfolders.alias("dst")
            hosts = sorted(self.hosts)
            query = (
                query.select_from(
                    b.outerjoin(src, src.c.id == b.c.folder_id).outerjoin(
                        dst, dst.c.id == b.c.target_id
                    )
                )
                .where(sa.or_(src.c.id.is_(None), src.c.host.in_(hosts)))
                .where(sa.or_(dst.c.id.is_(None), dst.c.host.in_(hosts)))
            )
        # SKIP LOCKED: nodes claiming at once each take a different row instead of queueing
        # behind one another (SQLite ignores it; its one writer serialises claims anyway).
        return query.order_by(b.c.created_at).limit(5).with_for_update(of=b, skip_locked=True)

    async def _claim_once(self) -> TaskContext | None:
        async with self.engine.begin() as conn:
            candidates = (await conn.execute(self._candidates())).all()
            for row in candidates:
                # Compare-and-set: only one node wins a row, on any database.
                res = await conn.execute(
                    b.update()
                    .where(
                        b.c.id == row.id,
                        b.c.status == row.status,
                        sa.or_(b.c.claimed_by.is_(None), b.c.claimed_by == row.claimed_by),
                    )
                    .values(status="running", claimed_by=self.node_id, heartbeat_at=now())
                )
                if res.rowcount == 1:
                    return TaskContext(
                        row.id, row.kind, row.folder_id, row.target_id, params=row.params or {}
                    )
        return None

    async def _run(self, ctx: TaskContext) -> None:
        handler, on_failure = self.handlers[ctx.kind]
        beat = asyncio.create_task(self._heartbeat(ctx))
        status, message = "done", ""
        try:
            await handler(ctx)
        except asyncio.CancelledError:
            beat.cancel()
            self._slots.release()
            raise  # node stopping: the row stays running and is re-queued at next start
        except BaiError as e:  # a user-level failure (quota, a vanished folder): no traceback
            log.warning("background %s task %s failed: %s", ctx.kind, ctx.id, e.msg)
            status, message = "failed", e.msg[:1000]
            with contextlib.suppress(Exception):
                await on_failure(ctx, e)
        except Exception as e:
            log.exception("background %s task %s failed", ctx.kind, ctx.id)
            # The details (which may name host paths) stay in the node's log.
            status, message = "failed", "internal error in the node; the node log has details"
            with contextlib.suppress(Exception):
                await on_failure(ctx, e)
        beat.cancel()
        try:
            await self._finish(ctx, status, message)
        finally:
            self._slots.release()
            self.wake()

    async def _finish(self, ctx: TaskContext, status: str, message: str) -> None:
        """Record the outcome. A busy database is retried: a task whose end is never
        written would look running to whoever follows it until it went stale."""
        for attempt in range(5):
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(
                        b.update()
                        .where(b.c.id == ctx.id)
                        .values(
                            status=status,
                            message=message,
                            current=ctx.current,
                            total=ctx.total,
                            finished_at=now(),
                        )
                    )
                return
            except Exception:
                if attempt == 4:
                    raise
                log.warning("recording the end of task %s failed; retrying", ctx.id)
                await asyncio.sleep(0.5 * (attempt + 1))

    async def _heartbeat(self, ctx: TaskContext) -> None:
        while True:
            await asyncio.sleep(min(HEARTBEAT, 1.0))
            async with self.engine.begin() as conn:
                await conn.execute(
                    b.update()
                    .where(b.c.id == ctx.id, b.c.claimed_by == self.node_id)
                    .values(heartbeat_at=now(), current=ctx.current, total=ctx.total)
                )
