"""Provides `NodeRegistry`: each node's row in the database, its heartbeat, and the take-over
of a silent node's work.

A node registers at start (id, name, public URL, volumes) and writes a heartbeat every
`[node] heartbeat` seconds. Any node that finds another silent for `down_after` seconds marks
it down in one conditional UPDATE (so exactly one node does it), re-queues the background
tasks it held; the quota claims of its writes, which died with it, are dropped once it has
stayed silent much longer (a node that was only slow keeps them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai import __version__
from bai.access import Principal, require_admin
from bai.db import tables as t
from bai.db.errors import retrying
from bai.errors import ConfigError
from bai.folders.repository import aware, now
from bai.secrets import NodeSecret

log = logging.getLogger("bai.cluster")
n = t.nodes
UP, DOWN, STOPPED = "up", "down", "stopped"
# A down node's quota claims go after it has been silent this many times `down_after`.
CLAIMS_AFTER = 10


@dataclass(frozen=True)
class VolumeDecl:
    name: str
    backend: str
    shared: bool


@dataclass(frozen=True)
class NodeInfo:
    id: str
    name: str
    url: str
    version: str
    volumes: list[dict[str, Any]]
    state: str
    started_at: datetime
    heartbeat_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "version": self.version,
            "volumes": self.volumes,
            "state": self.state,
            "started_at": self.started_at.isoformat(),
            "heartbeat_at": self.heartbeat_at.isoformat(),
        }


class NodeRegistry:
    def __init__(
        self,
        engine: AsyncEngine,
        node_id: str,
        *,
        name: str,
        url: str,
        volumes: list[VolumeDecl],
        heartbeat: float,
        down_after: float,
    ) -> None:
        self.engine = engine
        self.node_id = node_id
        self.name = name
        self.url = url
        self.volumes = volumes
        self.heartbeat = heartbeat
        self.down_after = timedelta(seconds=down_after)
        # Called with the ids of nodes this node marked down (the task runner wakes up).
        self.on_takeover: Callable[[list[str]], None] = lambda ids: None
        # Called with the node-local volumes of other nodes (name → their node's URL).
        self.on_volumes: Callable[[dict[str, str]], None] = lambda volumes: None
        self._loop: asyncio.Task[None] | None = None

    # ---- start and stop -----------------------------------------------------------------------

    async def register(self) -> None:
        """Write this node's row and claim its volumes; ConfigError when a volume clashes
        with another node's (a local volume of the same name, or shared on one side only)."""
        async with self.engine.begin() as conn:
            await self._claim_volumes(conn)
            ts = now()
            values = {
                "name": self.name,
                "url": self.url,
                "version": __version__,
                "volumes": [v.__dict__ for v in self.volumes],
                "state": UP,
                "started_at": ts,
                "heartbeat_at": ts,
            }
            res = await conn.execute(n.update().where(n.c.id == self.node_id).values(**values))
            if res.rowcount == 0:
                await conn.execute(n.insert().values(id=self.node_id, **values))

    async def _claim_volumes(self, conn: AsyncConnection) -> None:
        vt = t.volumes
        for decl in self.volumes:
            row = (
                await conn.execute(sa.select(vt).where(vt.c.name == decl.name).with_for_update())
            ).first()
            if row is None:  # the accounts bootstrap adds rows; a missing one is a new volume
                continue
            owner = row.owner_node
            if owner is not None and owner != self.node_id:
                other = await self._describe(conn, owner)
                raise ConfigError(
                    f"volume {decl.name!r} is local to node {other}; a volume of one name is "
                    "either local to one node or `shared = true` on every node declaring it. "
                    "Rename this node's volume, or share it on both nodes"
                )
            if row.shared and not decl.shared:
                others = await self._declaring(conn, decl.name)
                if others:
                    raise ConfigError(
                        f"volume {decl.name!r} is shared with node {others[0]}; declare it "
                        "`shared = true` here too, or give this node's volume another name"
                    )
            await conn.execute(
                vt.update()
                .where(vt.c.name == decl.name)
                .values(
                    shared=decl.shared,
                    owner_node=None if decl.shared else self.node_id,
                    backend=decl.backend,
                )
            )

    async def _describe(self, conn: AsyncConnection, node_id: str) -> str:
        row = (await conn.execute(sa.select(n.c.name, n.c.url).where(n.c.id == node_id))).first()
        return f"{row.name!r} ({row.url})" if row is not None else repr(node_id)

    async def _declaring(self, conn: AsyncConnection, volume: str) -> list[str]:
        """Other nodes (up or down) whose configuration names `volume`."""
        rows = (await conn.execute(sa.select(n).where(n.c.id != self.node_id))).all()
        return [
            f"{r.name!r} ({r.url})"
            for r in rows
            if r.state != STOPPED and any(v.get("name") == volume for v in r.volumes)
        ]

    async def start(self) -> None:
        self.on_volumes(await retrying(self.volumes_elsewhere))
        self._loop = asyncio.create_task(self._beat(), name="bai-node-heartbeat")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        with contextlib.suppress(Exception):  # the database may be gone; then we are "down"
            async with self.engine.begin() as conn:
                await conn.execute(n.update().where(n.c.id == self.node_id).values(state=STOPPED))

    # ---- heartbeat and take-over ------------------------------------------------------------

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await retrying(self.beat_once)
                down = await retrying(self.take_over)
                if down:
                    self.on_takeover(down)
                self.on_volumes(await retrying(self.volumes_elsewhere))
            except Exception:  # a database hiccup must not end the heartbeat
                log.exception("node heartbeat failed")

    async def beat_once(self) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                n.update().where(n.c.id == self.node_id).values(heartbeat_at=now(), state=UP)
            )

    async def take_over(self) -> list[str]:
        """Mark silent nodes down and re-queue their tasks; the ids this node marked down.

        The quota claims of a down node's writes are dropped only once it has been silent
        for CLAIMS_AFTER heartbeats-to-down: a node that was merely slow (a stalled loop)
        and comes back still holds writes in flight, whose claims must keep counting."""
        stale = now() - self.down_after
        taken: list[str] = []
        async with self.engine.begin() as conn:
            silent = (
                await conn.scalars(
                    sa.select(n.c.id).where(
                        n.c.state == UP, n.c.heartbeat_at < stale, n.c.id != self.node_id
                    )
                )
            ).all()
            for node_id in silent:
                # Conditional: of several nodes noticing at once, one marks it down.
                res = await conn.execute(
                    n.update()
                    .where(n.c.id == node_id, n.c.state == UP, n.c.heartbeat_at < stale)
                    .values(state=DOWN)
                )
                if res.rowcount == 1:
                    taken.append(node_id)
            if taken:
                await requeue_tasks(conn, taken)
            long_gone = now() - self.down_after * CLAIMS_AFTER
            dead = (
                await conn.scalars(
                    sa.select(n.c.id).where(n.c.state == DOWN, n.c.heartbeat_at < long_gone)
                )
            ).all()
            if dead:
                await drop_claims(conn, list(dead))
        for node_id in taken:
            log.warning("node %s stopped heartbeating: marked down, its tasks re-queued", node_id)
        return taken

    async def others_up(self) -> bool:
        """Whether another node is alive on this database (its heartbeat is fresh)."""
        stale = now() - self.down_after
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                sa.select(n.c.id)
                .where(n.c.id != self.node_id, n.c.state == UP, n.c.heartbeat_at >= stale)
                .limit(1)
            )
        return found is not None

    # ---- what callers see ---------------------------------------------------------------------

    async def list(self, actor: Principal) -> list[NodeInfo]:
        require_admin(actor)
        stale = now() - self.down_after
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(n).order_by(n.c.started_at, n.c.id))).all()
        out = []
        for r in rows:
            beat = aware(r.heartbeat_at) or now()
            state = r.state
            if state == UP and beat < stale:
                state = DOWN  # silent, though nobody has marked it yet
            out.append(
                NodeInfo(
                    r.id,
                    r.name,
                    r.url,
                    r.version,
                    list(r.volumes),
                    state,
                    aware(r.started_at) or beat,
                    beat,
                )
            )
        return out

    async def volumes_elsewhere(self) -> dict[str, str]:
        """The node-local volumes of other nodes, with the URL of the node holding each."""
        vt = t.volumes
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(vt.c.name, n.c.url)
                    .select_from(vt.join(n, n.c.id == vt.c.owner_node))
                    .where(sa.not_(vt.c.shared), vt.c.owner_node != self.node_id)
                )
            ).all()
        return {str(r.name): str(r.url) for r in rows if r.url}

    async def url_of(self, volume: str) -> str | None:
        """The URL of the node holding a node-local volume; None for a shared volume or one
        of this node (any node, or this one, serves its bytes)."""
        vt = t.volumes
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(vt.c.shared, vt.c.owner_node, n.c.url)
                    .select_from(vt.outerjoin(n, n.c.id == vt.c.owner_node))
                    .where(vt.c.name == volume)
                )
            ).first()
        if row is None or row.shared or row.owner_node in (None, self.node_id):
            return None
        return str(row.url) if row.url else None


async def requeue_tasks(conn: AsyncConnection, node_ids: list[str]) -> None:
    """The background tasks of down nodes go back to the queue for other nodes."""
    b = t.bgtasks
    await conn.execute(
        b.update()
        .where(b.c.status == "running", b.c.claimed_by.in_(node_ids))
        .values(status="pending", claimed_by=None)
    )


async def drop_claims(conn: AsyncConnection, node_ids: list[str]) -> None:
    """The quota claims of long-dead nodes' writes are gone with those writes (resumable
    uploads keep their declared size: another node may finish them)."""
    r = t.quota_reservations
    await conn.execute(
        r.delete().where(r.c.node_id.in_(node_ids), r.c.id.not_in(sa.select(t.uploads.c.id)))
    )


async def check_secret(engine: AsyncEngine, secret: NodeSecret) -> None:
    """Every node of one database must hold the same node secret (tokens one node signs are
    checked by another; keypair secrets are sealed with it). The first node records a
    fingerprint of its secret; a node with another secret is stopped before it serves."""
    cs = t.cluster_settings
    mark = secret.derive(b"fingerprint").hex()
    async with engine.begin() as conn:
        known = await conn.scalar(sa.select(cs.c.value).where(cs.c.key == "secret_fingerprint"))
        if known is None:
            users = await conn.scalar(sa.select(sa.func.count()).select_from(t.users))
            if users:
                # A database from before the fingerprint: this node's secret made it.
                log.info("recording the node secret's fingerprint in the database")
            await conn.execute(cs.insert().values(key="secret_fingerprint", value=mark))
            return
    if known != mark:
        raise ConfigError(
            "this node's secret differs from the one the database was set up with: nodes "
            "sharing a database must share one secret; point `[node] secret_file` in node.toml "
            "at a copy of the first node's secret file"
        )
