"""The event hub itself: bounded queues that flag instead of grow, replay on reconnection,
RESYNC when replay is impossible, and closing that ends every subscription."""

from __future__ import annotations

import uuid

from bai.folders.events import ChangeKind, EventHub


async def test_a_slow_subscriber_is_told_to_resync_and_never_blocks_the_hub() -> None:
    hub = EventHub(queue_size=4)
    slow = hub.subscribe()
    fid = uuid.uuid4()
    for _ in range(100):  # returns at once although nobody reads
        hub.files_changed(fid, ".")
    item = await slow.next(0.1)
    assert item is not None and item[1].kind is ChangeKind.RESYNC
    assert await slow.next(0.05) is None  # the backlog went with the resync
    hub.folder_changed(fid)
    item = await slow.next(0.1)
    assert item is not None and item[1].kind is ChangeKind.FOLDER


async def test_reconnecting_with_the_last_id_replays_what_was_missed() -> None:
    hub = EventHub()
    a, b = uuid.uuid4(), uuid.uuid4()
    hub.folder_changed(a)
    seen = hub.event_id(hub.sequence)
    hub.files_changed(a, "x")
    hub.folder_changed(b)
    sub = hub.subscribe(after=seen)
    got = [await sub.next(0.1), await sub.next(0.1)]
    assert [(i[1].kind, i[1].folder_id) for i in got if i] == [
        (ChangeKind.FILES, a),
        (ChangeKind.FOLDER, b),
    ]
    assert await sub.next(0.05) is None


async def test_an_id_from_another_node_run_or_too_old_means_resync() -> None:
    hub = EventHub()
    hub.folder_changed(uuid.uuid4())
    for after in ("someoneelse:1", f"{hub.epoch}:999", "garbage"):
        item = await hub.subscribe(after=after).next(0.1)
        assert item is not None and item[1].kind is ChangeKind.RESYNC, after


async def test_closing_the_hub_ends_every_subscription() -> None:
    hub = EventHub()
    sub = hub.subscribe()
    hub.close()
    assert sub.ended
    assert await sub.next(1.0) is None  # woken at once, not after the timeout
    assert hub.subscribe().ended
