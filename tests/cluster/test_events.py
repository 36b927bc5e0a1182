"""Change events cross nodes through PostgreSQL LISTEN/NOTIFY: a subscriber of node B sees
what was changed through node A."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from bai.cluster.notify import CHANNEL, encode
from bai.folders.events import ChangeEvent, ChangeKind, Subscription
from bai.node import Node
from tests.conftest import in_process_node, make_config
from tests.pgserver import PgServer


async def _next_event(sub: Subscription, kind: ChangeKind, timeout: float = 10.0) -> ChangeEvent:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        got = await sub.next(timeout=deadline - loop.time())
        if got is not None and got[1].kind is kind:
            return got[1]
    raise AssertionError(f"no {kind} event within {timeout:.0f} s")


async def test_events_made_through_a_reach_subscribers_of_b(
    tmp_path: Path, pg_server: PgServer
) -> None:
    url = pg_server.new_database()
    vol = tmp_path / "shared-volume"
    extra = (
        f'[database]\nurl = "{url}"\n[node]\nsecret_file = "{tmp_path / "secret"}"\n'
        f'[volume.local]\nbackend = "vfs"\npath = "{vol}"\nshared = true\n'
    )
    async with (
        in_process_node(make_config(tmp_path / "a", extra)) as a,
        Node(make_config(tmp_path / "b", extra)) as b,
    ):
        bridges = [a.node.bridge, b.bridge]
        for bridge in bridges:
            assert bridge is not None
            await asyncio.wait_for(bridge.connected.wait(), 10)
        sub = b.events.subscribe()
        try:
            created = await a.admin.post("/folders", json={"name": "announced"})
            event = await _next_event(sub, ChangeKind.FOLDER)
            assert event.folder_id == uuid.UUID(created["id"])
            await a.admin.post("/folders/announced/mkdir", json={"path": "sub"})
            event = await _next_event(sub, ChangeKind.FILES)
            assert event.folder_id == uuid.UUID(created["id"])
        finally:
            sub.close()
        # A node ignores its own events when NOTIFY brings them back.
        bridge_a = a.node.bridge
        assert bridge_a is not None
        before = a.node.events.sequence
        own = encode(a.node.node_id, ChangeEvent(ChangeKind.FOLDER, uuid.uuid4()))
        bridge_a._received(None, 0, CHANNEL, own)
        assert a.node.events.sequence == before
