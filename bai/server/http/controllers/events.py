"""Provides `GET /events`: the caller's folder and file change events, as server-sent events.

Each subscriber sees only the events of folders it may read (`bai.folders.events.EventFilter`
asks `bai.access`). Each event carries an SSE `id`; a client that reconnects with `?after=ID`
(or `Last-Event-ID`) gets what it missed. A stream ends on its own after `LIFETIME` (the
client reconnects at once, missing nothing), so a stopping node never waits long for open
streams, and at once when the node closes its event hub.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream

from bai.api.events import CHANGE, PING, RESYNC, ChangeEventData
from bai.folders.events import ChangeKind, EventFilter
from bai.server.http.deps import Caller, Services

PING_EVERY = 5.0
LIFETIME = 5.0


def _sse(name: str, data: bytes = b"{}", ident: str = "") -> bytes:
    head = f"id: {ident}\n".encode() if ident else b""
    return head + b"event: " + name.encode() + b"\ndata: " + data + b"\n\n"


class EventsController(Controller):
    path = "/events"
    tags = ("events",)  # type: ignore[assignment]

    @get("/", operation_id="changeEvents")
    async def events(
        self,
        principal: Caller,
        services: Services,
        after: Annotated[str | None, QueryParameter(name="after", max_length=64)] = None,
        last_event_id: Annotated[
            str | None, HeaderParameter(name="Last-Event-ID", max_length=64)
        ] = None,
    ) -> Stream:
        """Folder and file changes the caller may see, as they happen (text/event-stream):
        `change` events carry `ChangeEventData`; `resync` means events were lost (re-read
        everything). `after` (or `Last-Event-ID`): the last event id seen, to resume."""
        hub = services.events
        sub = hub.subscribe(after or last_event_id, owner=principal.access_key)
        admits = EventFilter(services.engine, principal).admits

        async def stream() -> AsyncIterator[bytes]:
            try:
                # The client knows it is subscribed and, if new, from which event on.
                start = "" if (after or last_event_id) else hub.event_id(hub.sequence)
                yield b"retry: 1000\n\n" + _sse(PING, ident=start)
                end = time.monotonic() + LIFETIME
                while (left := end - time.monotonic()) > 0 and not sub.ended:
                    item = await sub.next(min(PING_EVERY, left))
                    if item is None:
                        yield _sse(PING)
                        continue
                    seq, event = item
                    if event.kind is ChangeKind.RESYNC:
                        yield _sse(RESYNC, ident=hub.event_id(seq))
                    elif await admits(event):
                        data = ChangeEventData(
                            kind=event.kind.value, folder_id=event.folder_id, path=event.path
                        )
                        yield _sse(CHANGE, msgspec.json.encode(data), hub.event_id(seq))
            finally:
                sub.close()

        return Stream(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
