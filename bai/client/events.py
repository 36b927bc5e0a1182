"""Provides `EventsApi`: the node's folder and file change events (`GET /events`, SSE).

    events = EventsApi(client)
    while True:
        async for change in events.stream():   # one connection; the node ends it now and then
            ...

`stream()` yields `ChangeEventData`; its `kind` is `folder`, `files` or `invitation`, or
`resync` when events may have been lost: on the first connection (what happened before is
unknown), and when the node cannot replay what a reconnection missed (it restarted, or too
much happened). Between connections the object remembers the last event id, so calling
`stream()` again resumes where the last one stopped. A lost connection raises
`NodeUnreachable`; the caller reconnects when it likes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
import msgspec

from bai.api.events import CHANGE, RESYNC, ChangeEventData

if TYPE_CHECKING:
    from bai.client.session import BaiClient

# The node pings every few seconds: a stream silent for this long is dead.
READ_TIMEOUT = 15.0


class EventsApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client
        self.last_id: str | None = None

    async def stream(self) -> AsyncIterator[ChangeEventData]:
        request = self._c.build("GET", "/events", params={"after": self.last_id})
        request.extensions["timeout"] = httpx.Timeout(
            READ_TIMEOUT, connect=5.0, write=5.0, pool=5.0
        ).as_dict()
        response = await self._c.send(request, stream=True)
        decoder = msgspec.json.Decoder(ChangeEventData)
        try:
            fresh = self.last_id is None  # announced after the node's first event names an id
            name, ident = "", ""
            async for line in response.aiter_lines():
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "id":
                    ident = value
                elif field == "event":
                    name = value
                elif field == "data":
                    self.last_id = ident or self.last_id
                    if fresh:
                        fresh = False
                        yield ChangeEventData(kind=RESYNC)
                    if name == CHANGE:
                        yield decoder.decode(value)
                    elif name == RESYNC:
                        yield ChangeEventData(kind=RESYNC)
                elif not line:
                    name, ident = "", ""
        except httpx.TransportError as e:
            raise self._c.unreachable(e) from None
        finally:
            await response.aclose()
