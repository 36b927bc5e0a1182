"""Provides `SmallFiles`: whole small uploads committed together (group commit).

A file of a few KiB costs the node far more in fixed work than in bytes: a permission check,
a quota claim, an fsync, a rename and a database transaction. Uploads that arrive while a
group is being committed wait for the next group, and each group pays those once: one
permission check and one quota claim per folder, fsyncs the journal takes in one commit,
one transaction settling the usage. Every file is durable (data and name) before its
caller returns, exactly as a single upload's commit promises. The grantee's permission and
the folder's status are checked as each group commits (once per group, not per file), so a
revoked grant or a folder moved to the trash stops small uploads at once.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from bai.errors import BaiError
from bai.folders.models import VFolder
from bai.folders.repository import ref_of
from bai.storage.base import UsageDelta

if TYPE_CHECKING:
    from bai.folders.fileio import FileIO

# A group's bound: enough to share the fixed costs, small enough to answer early ones soon.
GROUP_FILES = 256
GROUP_BYTES = 32 << 20
GROUPS_AT_ONCE = 3  # a group waits mostly on the disk: the next one may start meanwhile
GATHER = 0.004

Grant = Callable[[str, uuid.UUID], Awaitable[VFolder]]


@dataclass
class _Put:
    rel: PurePosixPath
    data: bytes
    done: asyncio.Future[UsageDelta] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class SmallFiles:
    def __init__(self, io: FileIO, grant: Grant) -> None:
        self.io = io
        self.grant = grant  # the folder of a grant, if its grantee may still upload to it
        self._waiting: dict[tuple[str, uuid.UUID], list[_Put]] = defaultdict(list)
        self._flusher: asyncio.Task[None] | None = None
        self._peak = 1  # about the largest recent group (decaying)
        self._slots = asyncio.Semaphore(GROUPS_AT_ONCE)
        self._running: set[asyncio.Task[None]] = set()

    async def put(
        self, access_key: str, folder_id: uuid.UUID, rel: PurePosixPath, data: bytes
    ) -> UsageDelta:
        """Write `data` as the file `rel` of the folder; returns once it is durable."""
        item = _Put(rel, data)
        self._waiting[(access_key, folder_id)].append(item)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await asyncio.shield(item.done)  # a caller leaving does not undo the group

    async def put_batch(
        self, access_key: str, folder_id: uuid.UUID, files: list[tuple[PurePosixPath, bytes]]
    ) -> list[UsageDelta | BaiError]:
        """The files of one request committed as a group of their own: one quota claim for
        all of them (a refusal writes none), every one durable on return. Each file's result:
        one can still fail alone (a directory in its place), and says so."""
        group = [_Put(rel, data) for rel, data in files]
        async with self._slots:
            await self._commit(access_key, folder_id, group)
        out: list[UsageDelta | BaiError] = []
        for item in group:
            err = item.done.exception()
            out.append(err if isinstance(err, BaiError) else item.done.result())
        return out

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            # A free slot first: while every slot is committing, uploads pile up into the
            # next group. Then a moment for the rest of a wave (a client's answered
            # requests come back as its next ones), up to as many as recent groups held.
            await self._slots.acquire()
            deadline = loop.time() + GATHER
            while self._count() < self._peak and loop.time() < deadline:
                await asyncio.sleep(GATHER / 8)
            if not self._waiting:
                self._slots.release()
                break
            key, items = next(iter(self._waiting.items()))
            group: list[_Put] = []
            rest: list[_Put] = []
            size = 0
            for item in items:
                if len(group) < GROUP_FILES and (not group or size + len(item.data) <= GROUP_BYTES):
                    group.append(item)
                    size += len(item.data)
                else:
                    rest.append(item)
            self._peak = max(len(group), int(self._peak * 0.9))
            if rest:
                self._waiting[key] = rest
            else:
                del self._waiting[key]
            task = asyncio.create_task(self._run(*key, group))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, access_key: str, folder_id: uuid.UUID, group: list[_Put]) -> None:
        try:
            await self._commit(access_key, folder_id, group)
        except BaseException as e:  # every waiter hears of it; nothing stays pending
            for item in group:
                if not item.done.done():
                    item.done.set_exception(e if isinstance(e, Exception) else BaiError(str(e)))
            if not isinstance(e, Exception):
                raise
        finally:
            self._slots.release()

    def _count(self) -> int:
        return sum(len(items) for items in self._waiting.values())

    async def _commit(self, access_key: str, folder_id: uuid.UUID, group: list[_Put]) -> None:
        io = self.io
        folder = await self.grant(access_key, folder_id)
        total = sum(len(item.data) for item in group)
        # One claim for the group: concurrent writers never cross the limit together.
        claim_key = secrets.token_hex(16)
        reservation = await io.quota.reservation(folder, claim_key, cap=total)
        keys = [secrets.token_hex(16) for _ in group]
        io.open_keys.update(keys)  # staged data in flight: not the sweep's to remove
        try:
            await reservation.ensure(total)
            results = await io.hosts.volume(folder.host).put_files(
                ref_of(folder), [(item.rel, item.data) for item in group], keys
            )
        except BaseException:
            await reservation.release()
            raise
        finally:
            io.open_keys.difference_update(keys)
        delta = sum((r for r in results if isinstance(r, UsageDelta)), UsageDelta())
        async with io.engine.begin() as conn:
            await io.quota.settle(conn, reservation, delta)
        placed = zip(group, results, strict=True)
        for d in {str(item.rel.parent) for item, r in placed if isinstance(r, UsageDelta)}:
            io.events.files_changed(folder.id, d)
        for item, result in zip(group, results, strict=True):
            if isinstance(result, BaiError):
                item.done.set_exception(result)
            else:
                item.done.set_result(result)
