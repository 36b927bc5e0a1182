"""`GET /events`: change events pushed by a real node, filtered by what the caller may read."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bai.api.events import ChangeEventData
from bai.client import BaiClient, ClientConfig, EventsApi
from tests.harness import NodeProcess
from tests.tui.conftest import new_user

pytestmark = pytest.mark.node


class Collector:
    """Follows one client's event stream in the background."""

    def __init__(self, config: ClientConfig) -> None:
        self.client = BaiClient(config)
        self.events: list[ChangeEventData] = []
        self.subscribed = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for ev in EventsApi(self.client).stream():
            self.events.append(ev)
            self.subscribed.set()

    async def wait_for(self, pred: object, timeout: float = 2.0) -> ChangeEventData:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.events:
                if pred(ev):  # type: ignore[operator]
                    return ev
            await asyncio.sleep(0.05)
        raise AssertionError(f"no matching event within {timeout}s; got {self.events}")

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.client.aclose()


async def test_folder_and_file_events_reach_who_may_read(
    tui_node: NodeProcess, user: ClientConfig, tmp_path: Path
) -> None:
    other = await new_user(tui_node)
    mine, theirs = Collector(user), Collector(other)
    try:
        await asyncio.wait_for(mine.subscribed.wait(), 5)
        await asyncio.wait_for(theirs.subscribed.wait(), 5)
        async with BaiClient(user) as c:
            folder = await c.folders.create("ev-data")
            await mine.wait_for(lambda e: e.kind == "folder" and e.folder_id == folder.id)
            local = tmp_path / "a.txt"
            local.write_text("hello")
            await c.files.mkdir("ev-data", ["sub"])
            await c.files.upload("ev-data", local, "sub/a.txt")
            ev = await mine.wait_for(lambda e: e.kind == "files" and e.path == "sub")
            assert ev.folder_id == folder.id
            # Written behind the node's back: the volume watcher reports it (no directory).
        await asyncio.sleep(0.5)
        assert all(e.folder_id != folder.id for e in theirs.events), theirs.events
    finally:
        await mine.close()
        await theirs.close()


async def test_invitation_events_reach_the_invitee(
    tui_node: NodeProcess, user: ClientConfig
) -> None:
    email = f"inv{uuid.uuid4().hex[:6]}@example.org"
    invitee = await new_user(tui_node, email)
    seen = Collector(invitee)
    try:
        await asyncio.wait_for(seen.subscribed.wait(), 5)
        async with BaiClient(user) as c:
            folder = await c.folders.create("ev-shared")
            await c.sharing.invite("ev-shared", [email], "ro")
        ev = await seen.wait_for(lambda e: e.kind == "invitation")
        assert ev.folder_id == folder.id
    finally:
        await seen.close()


async def test_events_need_a_signed_request(tui_node: NodeProcess) -> None:
    import httpx

    async with httpx.AsyncClient() as h:
        r = await h.get(tui_node.endpoint + "/events")
    assert r.status_code == 401
    assert "msg" in r.json()


async def test_a_file_written_behind_the_nodes_back_is_announced(
    tui_node: NodeProcess, user: ClientConfig
) -> None:
    """A session or a shell writes into the folder's directory: the volume watcher tells."""
    seen = Collector(user)
    try:
        await asyncio.wait_for(seen.subscribed.wait(), 5)
        async with BaiClient(user) as c:
            folder = await c.folders.create("ev-behind")
        h = folder.id.hex
        volume = tui_node.data_dir / "volumes" / "local"
        [where] = list(volume.glob(f"*/{h[0:2]}/{h[2:4]}/{h[4:]}"))
        seen.events.clear()
        (where / "made-by-a-session.txt").write_text("hi")
        ev = await seen.wait_for(lambda e: e.kind == "files" and e.folder_id == folder.id)
        assert ev.path is None  # the watcher knows the folder, not the directory
    finally:
        await seen.close()


async def test_a_new_stream_resumes_where_the_last_one_stopped(
    tui_node: NodeProcess, user: ClientConfig
) -> None:
    async with BaiClient(user) as c:
        events = EventsApi(c)
        first = [e async for e in _first(events.stream())]
        assert [e.kind for e in first] == ["resync"]  # a first connection knows nothing yet
        assert events.last_id is not None
        folder = await c.folders.create("ev-between")  # while no stream is open
        got: list[ChangeEventData] = []
        async for ev in events.stream():
            got.append(ev)
            if ev.folder_id == folder.id:
                break
        assert [e.kind for e in got] == ["folder"]  # replayed; no resync needed


async def _first(stream: AsyncIterator[ChangeEventData]) -> AsyncIterator[ChangeEventData]:
    async for ev in stream:
        yield ev
        break
    await stream.aclose()  # type: ignore[attr-defined]
