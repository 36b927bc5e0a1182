"""Provides `EventHub`: the node's folder and file change events, published to subscribers.

Services publish a `ChangeEvent` whenever a folder or its files change (and the volume
watchers publish what changed behind the node's back). Each subscriber gets a bounded queue:
a subscriber that does not keep up loses events and is told so (`overflowed`), so that it
re-reads everything instead of trusting a partial stream; the node never waits for one.
Every event has an id, `<epoch>:<sequence>` (the epoch changes when the node restarts); a
subscriber that reconnects with the last id it saw gets what it missed from a short replay
buffer, or a RESYNC when that is no longer possible. `EventFilter` decides, through
`bai.access`, which events a caller may see.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncEngine

from bai import access
from bai.access import Principal
from bai.errors import BaiError, TooManyRequests
from bai.folders.models import VFolder
from bai.folders.repository import visible_folders

QUEUE_SIZE = 256
MAX_PER_OWNER = 16  # event streams one access key may hold open
REPLAY = 1024  # events kept for subscribers that reconnect
# A file event for a folder the filter does not know re-reads the caller's folders at most
# this often: another user's busy folder must not cost a query per event.
REFRESH_AFTER_MISS = 2.0


class ChangeKind(StrEnum):
    FOLDER = "folder"  # created, renamed, options or status changed, deleted
    FILES = "files"  # files changed inside the folder (`path`: the directory, when known)
    INVITATION = "invitation"  # an invitation was sent, accepted, rejected or cancelled
    RESYNC = "resync"  # events were lost: re-read everything


@dataclass(frozen=True)
class ChangeEvent:
    kind: ChangeKind
    folder_id: uuid.UUID | None = None
    path: str | None = None  # folder-relative directory of a file change, "." for the root
    audience: frozenset[str] = frozenset()  # e-mails that see it even without the folder


Numbered = tuple[int, ChangeEvent]


class Subscription:
    """One subscriber's queue; call `next()` until `ended`, then `close()`."""

    def __init__(self, hub: EventHub, size: int, owner: str = "") -> None:
        self._hub = hub
        self.owner = owner
        self._queue: asyncio.Queue[Numbered | None] = asyncio.Queue(size)
        self.overflowed = False
        self.ended = False  # the hub closed: the node is stopping

    def offer(self, item: Numbered) -> None:
        if self.overflowed:
            return  # already told to re-read everything; nothing more is worth keeping
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True

    def end(self) -> None:
        self.ended = True
        with contextlib.suppress(asyncio.QueueFull):  # a full queue wakes `next` anyway
            self._queue.put_nowait(None)

    async def next(self, timeout: float) -> Numbered | None:
        """The next event and its sequence number; RESYNC once after an overflow; None when
        `timeout` passes or the hub closed."""
        if self.overflowed:
            while not self._queue.empty():
                self._queue.get_nowait()
            self.overflowed = False
            return self._hub.sequence, ChangeEvent(ChangeKind.RESYNC)
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._hub.unsubscribe(self)


class EventHub:
    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self.epoch = uuid.uuid4().hex[:12]
        self.sequence = 0
        self.closed = False
        self._recent: deque[Numbered] = deque(maxlen=REPLAY)
        self._subscribers: set[Subscription] = set()
        # Where this node's own events also go (other nodes sharing the database), if any.
        self.forward: Callable[[ChangeEvent], None] | None = None

    def event_id(self, seq: int) -> str:
        return f"{self.epoch}:{seq}"

    def subscribe(self, after: str | None = None, owner: str = "") -> Subscription:
        """A new subscriber; with `after` (the last event id it saw), what it missed since
        is replayed, or, when the buffer no longer holds it, a RESYNC comes first. One
        `owner` (an access key) holds at most MAX_PER_OWNER at once: each costs the node
        work on every event."""
        if owner and sum(1 for s in self._subscribers if s.owner == owner) >= MAX_PER_OWNER:
            raise TooManyRequests(
                f"{MAX_PER_OWNER} event streams are open with this access key already; "
                "close one (each terminal UI holds one) and try again"
            )
        sub = Subscription(self, self.queue_size, owner)
        if after is not None:
            epoch, _, seq = after.partition(":")
            oldest = self._recent[0][0] if self._recent else self.sequence + 1
            if epoch == self.epoch and seq.isdigit() and oldest - 1 <= int(seq) <= self.sequence:
                for item in self._recent:
                    if item[0] > int(seq):
                        sub.offer(item)
            else:
                sub.overflowed = True
        if self.closed:
            sub.end()
        self._subscribers.add(sub)
        return sub

    def close(self) -> None:
        """End every subscription (the node is stopping: open streams must not hold it)."""
        self.closed = True
        for sub in list(self._subscribers):
            sub.end()

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event: ChangeEvent, *, local: bool = True) -> None:
        """Hand `event` to every subscriber; never blocks. A `local` event (this node's)
        goes to the other nodes too; one that came from another node does not go back."""
        if local and self.forward is not None:
            self.forward(event)
        self.sequence += 1
        item = (self.sequence, event)
        self._recent.append(item)
        for sub in list(self._subscribers):
            sub.offer(item)

    def folder_changed(self, folder_id: uuid.UUID) -> None:
        self.publish(ChangeEvent(ChangeKind.FOLDER, folder_id))

    def files_changed(self, folder_id: uuid.UUID, directory: str | None = None) -> None:
        self.publish(ChangeEvent(ChangeKind.FILES, folder_id, directory))

    def invitation_changed(self, folder_id: uuid.UUID, emails: set[str] | list[str]) -> None:
        self.publish(ChangeEvent(ChangeKind.INVITATION, folder_id, None, frozenset(emails)))


@dataclass
class EventFilter:
    """Which events one caller sees: those of folders `bai.access` lets them read (file
    events need the right to list files), and those addressed to them."""

    engine: AsyncEngine
    principal: Principal
    _folders: dict[uuid.UUID, VFolder] = field(default_factory=dict)
    _read_at: float = float("-inf")

    async def admits(self, event: ChangeEvent) -> bool:
        p = self.principal
        if event.kind is ChangeKind.RESYNC or p.email in event.audience:
            return True
        if event.folder_id is None:
            return False
        known = self._folders.get(event.folder_id)
        if event.kind is ChangeKind.FOLDER:
            # Who sees a folder may have just changed; a folder one saw until now (deleted,
            # left) is still announced, so the caller's view of it goes away.
            await self._read()
            known = known or self._folders.get(event.folder_id)
        elif known is None and time.monotonic() - self._read_at > REFRESH_AFTER_MISS:
            await self._read()
            known = self._folders.get(event.folder_id)
        if known is None:
            return False
        action = access.INFO if event.kind is not ChangeKind.FILES else access.LIST_FILES
        try:
            access.check_folder_action(p, action, known.view())
        except BaiError:
            return False
        return True

    async def _read(self) -> None:
        async with self.engine.connect() as conn:
            self._folders = {f.id: f for f in await visible_folders(conn, self.principal)}
        self._read_at = time.monotonic()
