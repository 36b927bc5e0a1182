"""Provides `UsageService`: keeps folder usage true when files change behind the node's back.

The node counts every write it makes itself (exactly, in the database). Compute sessions
and people with a shell change files too; a watcher per volume notices such changes and
reconciles the touched folders a moment later, and a reconcile scan (bounded in time, taken
up again where a deadline stopped it) corrects any drift and records what it corrected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.access import Principal, require_admin
from bai.db import tables as t
from bai.errors import BaiError, NotFound
from bai.folders.events import EventHub
from bai.folders.models import DELETE_STATES
from bai.folders.repository import folder_by_id, now, ref_of
from bai.hosts import HostService
from bai.storage.base import Capability, Volume

log = logging.getLogger("bai.usage")
v = t.vfolders
DEBOUNCE = 1.0
RESCAN_INTERVAL = 1800.0
SCAN_BUDGET = 30.0  # seconds a background walk of one folder may take at first
MAX_SCAN_BUDGET = 3600.0
ADMIN_SCAN_BUDGET = 20.0  # `bai admin reconcile` answers within this; the rest goes on behind


@dataclass(frozen=True)
class Reconciled:
    folder_id: uuid.UUID
    files: int
    bytes: int
    corrected_files: int
    corrected_bytes: int
    seconds: float
    complete: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder_id": str(self.folder_id),
            "files": self.files,
            "bytes": self.bytes,
            "corrected_files": self.corrected_files,
            "corrected_bytes": self.corrected_bytes,
            "seconds": round(self.seconds, 3),
            "complete": self.complete,
        }


class UsageService:
    events = EventHub()  # nobody listens to this one; a node gives its services its own hub

    def __init__(self, engine: AsyncEngine, hosts: HostService) -> None:
        self.engine = engine
        self.hosts = hosts
        self._watchers: list[asyncio.Task[None]] = []
        self._dirty: dict[uuid.UUID, float] = {}
        self._budgets: dict[uuid.UUID, float] = {}  # folders whose walks outgrew the budget
        self._flusher: asyncio.Task[None] | None = None
        self._rescanner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def reconcile(self, folder_id: uuid.UUID, budget: float | None = None) -> Reconciled:
        """Walk one folder and make the database agree with the disk.

        With a time budget, a walk the deadline cuts short corrects nothing (a partial count
        is not the truth); the folder stays marked and is walked again later."""
        async with self.engine.connect() as conn:
            folder = await folder_by_id(conn, folder_id)
        if folder is None:
            raise NotFound(f"no folder {folder_id}")
        vol = self.hosts.volume(folder.host)
        t0 = time.perf_counter()
        deadline = time.monotonic() + budget if budget else None
        result = await vol.scan_usage(ref_of(folder), deadline)
        seconds = time.perf_counter() - t0
        if not result.complete:
            self._dirty[folder_id] = time.monotonic()
            return Reconciled(folder_id, result.files, result.bytes, 0, 0, seconds, False)
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    # Locked: two nodes reconciling one folder of a shared volume apply the
                    # difference once (the second reads the first's result).
                    sa.select(v.c.num_files, v.c.cur_size)
                    .where(v.c.id == folder_id)
                    .with_for_update()
                )
            ).first()
            if row is None:
                raise NotFound(f"no folder {folder_id}")
            d_files, d_bytes = result.files - row.num_files, result.bytes - row.cur_size
            if d_files or d_bytes:
                # Apply the difference, not the total: writes that landed during the walk
                # already moved the counters and must not be lost.
                await conn.execute(
                    v.update()
                    .where(v.c.id == folder_id)
                    .values(num_files=v.c.num_files + d_files, cur_size=v.c.cur_size + d_bytes)
                )
            await conn.execute(
                t.scan_runs.insert().values(
                    id=uuid.uuid4(),
                    folder_id=folder_id,
                    files=result.files,
                    bytes=result.bytes,
                    corrected_files=d_files,
                    corrected_bytes=d_bytes,
                    seconds=seconds,
                    finished_at=now(),
                )
            )
        if d_files or d_bytes:
            log.info(
                "reconciled folder %s: corrected %+d files, %+d bytes", folder_id, d_files, d_bytes
            )
        return Reconciled(folder_id, result.files, result.bytes, d_files, d_bytes, seconds, True)

    def mark(self, folder_id: uuid.UUID) -> None:
        """Have a folder walked soon (by the flush loop, off every request path)."""
        self._dirty[folder_id] = time.monotonic()

    async def reconcile_for(
        self, p: Principal, folder_id: uuid.UUID | None, host: str | None
    ) -> list[Reconciled]:
        """`bai admin reconcile`: administrators only (checked before anything is looked up)."""
        require_admin(p)
        if folder_id is not None:
            done = await self.reconcile(folder_id, budget=ADMIN_SCAN_BUDGET)
            if not done.complete:  # marked dirty by reconcile: the flush loop goes on
                self._budgets[folder_id] = max(
                    self._budgets.get(folder_id, SCAN_BUDGET), ADMIN_SCAN_BUDGET * 2
                )
            return [done]
        return await self.reconcile_all(self.hosts.parse(host) if host else None)

    async def reconcile_all(self, host: str | None = None) -> list[Reconciled]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(v.c.id, v.c.host).where(v.c.status.not_in(DELETE_STATES))
            )
            ids = [r.id for r in rows if host is None or r.host == host]
        out = []
        for fid in ids:
            with contextlib.suppress(NotFound):
                out.append(await self.reconcile(fid, budget=ADMIN_SCAN_BUDGET))
        return out

    # ---- watching --------------------------------------------------------------------------

    async def start(self) -> None:
        for vol in self.hosts.volumes.values():
            if vol.has(Capability.CHANGE_EVENTS):
                self._watchers.append(
                    asyncio.create_task(self._watch(vol), name=f"bai-watch-{vol.name}")
                )
        self._flusher = asyncio.create_task(self._flush_loop(), name="bai-usage-flush")
        self._rescanner = asyncio.create_task(self._rescan_loop(), name="bai-usage-rescan")

    async def stop(self) -> None:
        self._stop.set()
        loops = [self._flusher, self._rescanner]
        for task in [*self._watchers, *(x for x in loops if x is not None)]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, vol: Volume) -> None:
        """Follow a volume's change events for as long as the node runs: a watcher that
        fails is started again (after a pause that grows while it keeps failing), and what
        changed meanwhile is caught by rescanning every folder of the volume."""
        pause = 1.0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                async for locations in vol.watch(self._stop):
                    await self._mark(vol, locations)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # never take the node down; never stop watching
                log.warning("file watcher for volume %s failed (%s); restarting", vol.name, e)
            await self._mark(vol, {"*"})
            pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, 60.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)

    async def _mark(self, vol: Volume, locations: set[str]) -> None:
        """Mark folders changed; "*" (events were lost) marks every folder of the volume."""
        stamp = time.monotonic()
        query = sa.select(v.c.id).where(v.c.host == vol.name, v.c.status.not_in(DELETE_STATES))
        if "*" not in locations:
            query = query.where(v.c.location.in_(locations))
        async with self.engine.connect() as conn:
            for fid in await conn.scalars(query):
                self._dirty[fid] = stamp
                if "*" not in locations:  # "*" is a rescan, not news of a change
                    self.events.files_changed(fid)

    async def _rescan_loop(self) -> None:
        """Every folder is rescanned at start and then every RESCAN_INTERVAL, bounded by the
        per-folder budget, so writes behind the node's back are counted even where no change
        event arrives (a backend without them, a watch limit reached)."""
        while True:
            for vol in self.hosts.volumes.values():
                await self._mark(vol, {"*"})
            await asyncio.sleep(RESCAN_INTERVAL)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(DEBOUNCE / 2)
            quiet = time.monotonic() - DEBOUNCE
            ready = [fid for fid, stamp in list(self._dirty.items()) if stamp <= quiet]
            for fid in ready:
                self._dirty.pop(fid, None)
                budget = self._budgets.get(fid, SCAN_BUDGET)
                try:
                    done = await self.reconcile(fid, budget=budget)
                    if done.complete:
                        self._budgets.pop(fid, None)
                    else:
                        # Too big to walk in this budget (a bucket of millions of objects):
                        # the next walk gets twice the time, so it ends some day.
                        self._budgets[fid] = min(budget * 2, MAX_SCAN_BUDGET)
                except NotFound:
                    pass
                except BaiError as e:
                    log.warning("reconcile of folder %s failed: %s", fid, e.msg)
                except Exception:
                    log.exception("reconcile of folder %s failed", fid)
