"""Provides `EventBridge`: change events between nodes sharing a PostgreSQL database.

Each node LISTENs on one channel and NOTIFYs its own events there, so a terminal UI connected
to any node sees changes made through every node. One dedicated connection (outside the pool)
does both; it is re-opened when it drops, and subscribers are told to re-read everything
(RESYNC) since events may have been missed meanwhile. On SQLite (one node) there is nothing
to bridge and the hub works alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncEngine

from bai.folders.events import ChangeEvent, ChangeKind, EventHub

log = logging.getLogger("bai.cluster")
CHANNEL = "bai_events"
MAX_PAYLOAD = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes and more
RECONNECT = 2.0


def encode(node_id: str, event: ChangeEvent) -> str:
    body: dict[str, Any] = {"n": node_id, "k": event.kind.value}
    if event.folder_id is not None:
        body["f"] = str(event.folder_id)
    if event.path is not None:
        body["p"] = event.path
    if event.audience:
        body["a"] = sorted(event.audience)
    text = json.dumps(body, separators=(",", ":"))
    if len(text.encode()) > MAX_PAYLOAD:
        # A very long directory: "somewhere in this folder" is still true, and fits.
        body.pop("p", None)
        text = json.dumps(body, separators=(",", ":"))
    return text


def decode(text: str) -> tuple[str, ChangeEvent] | None:
    try:
        body = json.loads(text)
        folder = uuid.UUID(body["f"]) if "f" in body else None
        event = ChangeEvent(
            ChangeKind(body["k"]), folder, body.get("p"), frozenset(body.get("a", ()))
        )
        return str(body["n"]), event
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a malformed change event from another node")
        return None


class EventBridge:
    def __init__(self, engine: AsyncEngine, hub: EventHub, node_id: str) -> None:
        # asyncpg's own DSN form of the engine's URL (the password included, never logged).
        url = engine.url.set(drivername="postgresql")
        self.dsn = url.render_as_string(hide_password=False)
        self.hub = hub
        self.node_id = node_id
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=4096)
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self.hub.forward = self._queue
        self._task = asyncio.create_task(self._run(), name="bai-event-bridge")

    async def stop(self) -> None:
        self.hub.forward = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _queue(self, event: ChangeEvent) -> None:
        if event.kind is ChangeKind.RESYNC:
            return  # a local matter of one subscriber
        # When full, other nodes' subscribers miss it: the bridge never holds this node up.
        with contextlib.suppress(asyncio.QueueFull):
            self._outbox.put_nowait(encode(self.node_id, event))

    def _received(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        got = decode(payload)
        if got is not None and got[0] != self.node_id:
            self.hub.publish(got[1], local=False)

    async def _run(self) -> None:
        first = True
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
            except (OSError, asyncpg.PostgresError) as e:
                self.connected.clear()
                log.warning("change events from other nodes paused: %s", e)
                await asyncio.sleep(RECONNECT)
                continue
            try:
                await conn.add_listener(CHANNEL, self._received)
                self.connected.set()
                if not first:
                    # Events may have passed while the connection was down.
                    self.hub.publish(ChangeEvent(ChangeKind.RESYNC), local=False)
                first = False
                while True:
                    payload = await self._outbox.get()
                    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                self.connected.clear()
                log.warning("change-event connection lost (%s); reconnecting", e)
                await asyncio.sleep(RECONNECT)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))
