"""Provides `DirectoryMoves`: moving a directory where the storage cannot rename.

On an object store a directory move copies every object and then deletes the originals
(`Volume.move` without ATOMIC_RENAME). That can take long, so it runs as a background task
with progress (`/tasks/{id}`, `bai vfolder mv` shows a bar): the request waits a while for
it and, if it is still going, answers with the task's id. If the move fails part-way, the
storage leaves the source whole (or says what is left of it), and the task's message says so.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from sqlalchemy.ext.asyncio import AsyncEngine

from bai.errors import BaiError, NotFound, ServiceUnavailable
from bai.folders.events import EventHub
from bai.folders.models import VFolder
from bai.folders.repository import add_usage, folder_by_id, ref_of
from bai.folders.service import FolderService
from bai.folders.tasks import TaskContext
from bai.storage.base import Capability

WAIT = 20.0  # seconds a request waits before it answers with the task instead


class DirectoryMoves:
    def __init__(self, engine: AsyncEngine, folders: FolderService, events: EventHub) -> None:
        self.engine = engine
        self.folders = folders
        self.events = events
        self._errors: dict[uuid.UUID, BaiError] = {}  # for the request that waits
        folders.tasks.register("move", self._run, self._fail)

    async def needs_task(self, folder: VFolder, src: PurePosixPath) -> bool:
        vol = self.folders.volume(folder.host)
        if vol.has(Capability.ATOMIC_RENAME):
            return False
        return (await vol.stat(ref_of(folder), src)).is_dir

    async def move(
        self, folder: VFolder, src: PurePosixPath, dst: PurePosixPath, wait: float | None = None
    ) -> uuid.UUID | None:
        """Move in a background task; None once it is done, or its id if it goes on
        after `wait` seconds (WAIT, read at call time so a test can shorten it)."""
        async with self.engine.begin() as conn:
            task_id = await self.folders.tasks.submit(
                conn, "move", folder.id, params={"src": str(src), "dst": str(dst)}
            )
        self.folders.tasks.wake()
        task = await self.folders.tasks.wait(task_id, WAIT if wait is None else wait)
        if task is None:
            return task_id
        if task["status"] == "failed":
            raise self._errors.pop(task_id, None) or ServiceUnavailable(task["message"])
        return None

    async def _run(self, ctx: TaskContext) -> None:
        async with self.engine.connect() as conn:
            folder = await folder_by_id(conn, ctx.folder_id)
        if folder is None:
            raise NotFound("the folder of this move is gone")
        src, dst = PurePosixPath(ctx.params["src"]), PurePosixPath(ctx.params["dst"])
        delta = await self.folders.volume(folder.host).move(
            ref_of(folder), src, dst, progress=ctx.progress
        )
        async with self.engine.begin() as conn:
            await add_usage(conn, folder.id, delta)
        self.events.files_changed(folder.id)

    async def _fail(self, ctx: TaskContext, exc: BaseException) -> None:
        if isinstance(exc, BaiError):
            self._errors[ctx.id] = exc
            if len(self._errors) > 100:  # nobody waited for these: keep the map small
                self._errors.pop(next(iter(self._errors)))
