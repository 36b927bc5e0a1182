"""Provides `FolderService`: create, list, inspect, rename, trash, delete and clone folders."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bai import access
from bai.access import FolderAction, Principal, check_folder_action, check_host_permission
from bai.db import tables as t
from bai.enums import FolderStatus, HostPermission
from bai.errors import Conflict, Forbidden, InvalidRequest, NotFound
from bai.folders.admission import check_folder_count, check_name_free, project_for_folder
from bai.folders.clone import clone_tree
from bai.folders.events import EventHub
from bai.folders.fileio import FileIO
from bai.folders.filters import FolderFilter
from bai.folders.models import (
    CLONING,
    DELETE_COMPLETE,
    DELETE_ERROR,
    DELETE_ONGOING,
    DELETE_PENDING,
    ERROR,
    NAME_HOLDING,
    PERMISSIONS,
    READY,
    USAGE_MODES,
    VFolder,
)
from bai.folders.names import check_folder_name
from bai.folders.quota import QuotaService
from bai.folders.repository import (
    every_folder,
    folder_by_id,
    insert_folder,
    ref_of,
    set_status,
    visible_folders,
)
from bai.folders.tasks import TaskContext, TaskRunner
from bai.hosts import HostService
from bai.sessions.records import live_holders
from bai.storage.base import Volume

log = logging.getLogger("bai.folders")

v = t.vfolders


def clone_claim(target_id: uuid.UUID) -> str:
    """The key of the quota claim a clone holds for its whole source."""
    return f"clone-{target_id.hex}"


def scope_hex_of(scope_id: str) -> str:
    return scope_id.split(":", 1)[1].replace("-", "")


class FolderService:
    events = EventHub()  # nobody listens to this one; a node gives its services its own hub

    def __init__(
        self,
        engine: AsyncEngine,
        hosts: HostService,
        tasks: TaskRunner,
        quota: QuotaService,
        io: FileIO,
    ) -> None:
        self.engine = engine
        self.hosts = hosts
        self.quota = quota
        self.tasks = tasks
        self.io = io
        tasks.register("delete", self._run_delete, self._fail_delete)
        tasks.register("clone", self._run_clone, self._fail_clone)

    # ---- lookup ----------------------------------------------------------------------------

    def volume(self, host: str) -> Volume:
        return self.hosts.volume(host)

    async def get(self, p: Principal, ident: str, action: FolderAction | None = None) -> VFolder:
        """A folder the caller can see, by name (live folders first) or by id."""
        async with self.engine.connect() as conn:
            folders = await visible_folders(conn, p)
        try:
            fid = uuid.UUID(ident)
            matches = [f for f in folders if f.id == fid]
        except ValueError:
            matches = [f for f in folders if f.name == ident and f.status in NAME_HOLDING]
            if not matches:
                matches = [f for f in folders if f.name == ident][-1:]
        if not matches:
            raise NotFound(f"no folder {ident!r}; `bai vfolder list` shows your folders")
        # A name can be both yours and a folder shared with you (its owner renamed it after
        # you accepted): your own wins, so a name never means two folders (Backend.AI #2753).
        matches.sort(key=lambda f: f.relation == access.Relation.INVITEE)
        folder = matches[0]
        if action is not None:
            check_folder_action(p, action, folder.view())
        return folder

    async def task(self, p: Principal, task_id: uuid.UUID) -> dict[str, Any]:
        """A background task's state, for those `bai.access` lets read it."""
        task = await self.tasks.get(task_id)
        async with self.engine.connect() as conn:
            seen = {f.id for f in await visible_folders(conn, p)}
        ids = {uuid.UUID(task["folder_id"])} | (
            {uuid.UUID(task["target_id"])} if task["target_id"] else set()
        )
        access.check_task_access(p, bool(ids & seen))
        return task

    async def list(
        self, p: Principal, flt: FolderFilter | None = None, every: bool = False
    ) -> list[VFolder]:
        """The folders `p` sees; with `every`, administrators get every folder of the node
        (Backend.AI's `vfolder_list` for an administrator)."""
        flt = flt or FolderFilter()
        if every:
            access.require_admin(p)
        async with self.engine.connect() as conn:
            folders = await (every_folder(conn, p) if every else visible_folders(conn, p))
        hidden = {DELETE_ONGOING, DELETE_COMPLETE, DELETE_ERROR}
        return [
            f for f in folders if (flt.include_deleted or f.status not in hidden) and flt.match(f)
        ]

    # ---- create ----------------------------------------------------------------------------

    async def create(
        self,
        p: Principal,
        *,
        name: str,
        host: str | None = None,
        group: str | None = None,
        usage_mode: str = "general",
        permission: str = "rw",
        cloneable: bool = False,
    ) -> VFolder:
        check_folder_name(name)
        if usage_mode not in USAGE_MODES:
            raise InvalidRequest(f"usage mode must be one of {', '.join(USAGE_MODES)}")
        if permission not in PERMISSIONS:
            raise InvalidRequest(f"permission must be one of {', '.join(PERMISSIONS)}")
        host = self.hosts.parse(host)
        vol = self.volume(host)
        check_host_permission(p, host, HostPermission.CREATE_VFOLDER)
        async with self.engine.connect() as conn:
            project_id = None
            if group:
                project_id = await project_for_folder(conn, p, group, name)
                scope = f"project:{project_id}"
                ownership = "group"
            else:
                await check_folder_count(conn, p)
                scope = f"user:{p.user_id}"
                ownership = "user"
                permission = "wd"  # a user folder's owner always holds wd
            await check_name_free(conn, p, name, project_id)
        await self.quota.ensure(host, scope)
        folder_id = uuid.uuid4()
        await self._insert(
            folder_id=folder_id,
            host=host,
            scope=scope,
            name=name,
            usage_mode=usage_mode,
            permission=permission,
            ownership=ownership,
            user_id=p.user_id if ownership == "user" else None,
            project_id=project_id,
            creator=p.email,
            cloneable=cloneable,
            status=READY,
            location=vol.locate(scope_hex_of(scope), folder_id),
        )
        async with self.engine.connect() as conn:
            folder = await folder_by_id(conn, folder_id)
        assert folder is not None
        try:
            # Data directory after the row, outside any transaction; undone on failure.
            await vol.create_folder(ref_of(folder))
        except BaseException:
            async with self.engine.begin() as conn:
                await conn.execute(v.delete().where(v.c.id == folder_id))
            raise
        self.events.folder_changed(folder_id)
        return await self.get(p, str(folder_id))

    async def _insert(self, **values: Any) -> None:
        """Insert a folder row; the database's unique indexes refuse a second live folder of
        one name per owner or project, even when two requests race (or two nodes)."""
        try:
            async with self.engine.begin() as conn:
                await insert_folder(conn, **values)
        except sa.exc.IntegrityError:
            raise Conflict(
                f"a folder named {values['name']!r} already exists; choose another name"
            ) from None

    # ---- change ----------------------------------------------------------------------------

    async def rename(self, p: Principal, ident: str, new_name: str) -> VFolder:
        check_folder_name(new_name)
        folder = await self.get(p, ident, access.RENAME)
        if new_name == folder.name:
            return folder
        if folder.is_automount != new_name.startswith("."):
            raise InvalidRequest("renaming cannot add or remove the automount dot")
        try:
            async with self.engine.begin() as conn:
                await check_name_free(conn, p, new_name, folder.project_id)
                await conn.execute(v.update().where(v.c.id == folder.id).values(name=new_name))
        except sa.exc.IntegrityError:
            raise Conflict(
                f"a folder named {new_name!r} already exists; choose another name"
            ) from None
        self.events.folder_changed(folder.id)
        return await self.get(p, str(folder.id))

    async def update_options(
        self,
        p: Principal,
        ident: str,
        *,
        permission: str | None = None,
        cloneable: bool | None = None,
    ) -> VFolder:
        folder = await self.get(p, ident, access.UPDATE_OPTIONS)
        values: dict[str, object] = {}
        if permission is not None:
            if permission not in PERMISSIONS:
                raise InvalidRequest(f"permission must be one of {', '.join(PERMISSIONS)}")
            if folder.ownership_type == "user" and permission != "wd":
                raise InvalidRequest(
                    "a user folder's owner always holds wd; set member permissions on "
                    "project folders"
                )
            values["permission"] = permission
        if cloneable is not None:
            values["cloneable"] = cloneable
        if values:
            async with self.engine.begin() as conn:
                await conn.execute(v.update().where(v.c.id == folder.id).values(**values))
            self.events.folder_changed(folder.id)
        return await self.get(p, str(folder.id))

    # ---- trash and deletion ----------------------------------------------------------------

    async def trash(self, p: Principal, ident: str) -> VFolder:
        folder = await self.get(p, ident)
        # Only the owner learns which sessions hold it; others get the plain refusal below.
        if folder.status == FolderStatus.MOUNTED and access.owns(folder.relation):
            async with self.engine.connect() as conn:
                holders = await live_holders(conn, folder.id)
            if holders:
                raise Conflict(
                    f"folder {folder.name!r} is mounted by session(s) {', '.join(holders)}; "
                    "destroy them (`bai session destroy NAME`) before moving it to the trash"
                )
        check_folder_action(p, access.TRASH, folder.view())
        async with self.engine.begin() as conn:
            await set_status(conn, folder.id, DELETE_PENDING, expect=folder.status)
        self.events.folder_changed(folder.id)
        return await self.get(p, str(folder.id))

    async def restore(self, p: Principal, ident: str) -> VFolder:
        folder = await self.get(p, ident, access.RESTORE)
        async with self.engine.begin() as conn:
            await set_status(conn, folder.id, READY, expect=folder.status)
        self.events.folder_changed(folder.id)
        return await self.get(p, str(folder.id))

    async def delete_forever(self, p: Principal, ident: str) -> uuid.UUID:
        folder = await self.get(p, ident, access.DELETE_FOREVER)
        async with self.engine.begin() as conn:
            await set_status(conn, folder.id, DELETE_ONGOING, expect=folder.status)
            task_id = await self.tasks.submit(conn, "delete", folder.id)
        self.tasks.wake()
        self.events.folder_changed(folder.id)
        return task_id

    async def purge(self, p: Principal, ident: str) -> None:
        access.require_admin(p)
        folder = await self._any_folder(p, ident)
        check_folder_action(p, access.PURGE, folder.view())
        vol = self.volume(folder.host)
        await vol.remove_folder(ref_of(folder))  # finishes a deletion that errored
        async with self.engine.begin() as conn:
            await conn.execute(v.delete().where(v.c.id == folder.id))
        self.events.folder_changed(folder.id)

    async def _any_folder(self, p: Principal, ident: str) -> VFolder:
        """For administrators: any folder by id, else one they see by name."""
        try:
            fid = uuid.UUID(ident)
        except ValueError:
            return await self.get(p, ident)
        async with self.engine.connect() as conn:
            folder = await folder_by_id(conn, fid)
        if folder is None:
            raise NotFound(f"no folder {ident!r}")
        return folder

    async def _run_delete(self, ctx: TaskContext) -> None:
        async with self.engine.connect() as conn:
            folder = await folder_by_id(conn, ctx.folder_id)
        if folder is None:
            return
        # Its pending uploads go first: their staged bytes and quota claims leave with it.
        await self.io.discard_uploads_of(folder)
        await self.volume(folder.host).remove_folder(ref_of(folder))
        async with self.engine.begin() as conn:
            await set_status(conn, folder.id, DELETE_COMPLETE, num_files=0, cur_size=0)
        self.events.folder_changed(folder.id)

    async def _fail_delete(self, ctx: TaskContext, exc: BaseException) -> None:
        async with self.engine.begin() as conn:
            await set_status(conn, ctx.folder_id, DELETE_ERROR)
        self.events.folder_changed(ctx.folder_id)

    # ---- clone -----------------------------------------------------------------------------

    async def clone(
        self,
        p: Principal,
        ident: str,
        *,
        target_name: str,
        target_host: str | None = None,
        usage_mode: str | None = None,
        permission: str = "rw",
    ) -> tuple[VFolder, uuid.UUID]:
        src = await self.get(p, ident, access.CLONE)
        if not src.cloneable:
            raise Forbidden(
                f"folder {src.name!r} is not cloneable; its owner can allow it with "
                "`bai vfolder update-options --set-cloneable true`"
            )
        check_folder_name(target_name)
        host = self.hosts.parse(target_host or src.host)
        if host != src.host:
            raise InvalidRequest("cloning across storage hosts is not supported yet")
        vol = self.volume(host)
        check_host_permission(p, host, HostPermission.CREATE_VFOLDER)
        if permission not in PERMISSIONS:
            raise InvalidRequest(f"permission must be one of {', '.join(PERMISSIONS)}")
        async with self.engine.connect() as conn:
            await check_folder_count(conn, p)
            await check_name_free(conn, p, target_name)
        scope = f"user:{p.user_id}"
        await self.quota.ensure(host, scope)
        # The whole source must fit; the copy claims quota file by file as it goes too.
        target_id = uuid.uuid4()
        await self._insert(
            folder_id=target_id,
            host=host,
            scope=scope,
            name=target_name,
            usage_mode=usage_mode or src.usage_mode,
            permission="wd",
            ownership="user",
            user_id=p.user_id,
            project_id=None,
            creator=p.email,
            cloneable=False,
            status=CLONING,
            location=vol.locate(scope_hex_of(scope), target_id),
        )
        async with self.engine.connect() as conn:
            target = await folder_by_id(conn, target_id)
        assert target is not None
        try:
            # The whole source is claimed now, so uploads meanwhile cannot take its room;
            # the copy spends the claim file by file, and it ends with the clone.
            await self.quota.admit(target, src.cur_size)
            claim = await self.quota.reservation(target, clone_claim(target_id), src.cur_size)
            await claim.ensure(src.cur_size)
            await vol.create_folder(ref_of(target))
        except BaseException:
            await self.quota.drop_claim(clone_claim(target_id))
            async with self.engine.begin() as conn:
                await conn.execute(v.delete().where(v.c.id == target_id))
            raise
        async with self.engine.begin() as conn:
            if src.status == READY:  # a mounted source stays mounted while it is read
                await set_status(conn, src.id, CLONING)
            task_id = await self.tasks.submit(conn, "clone", src.id, target_id)
        self.tasks.wake()
        self.events.folder_changed(target_id)
        return await self.get(p, str(target_id)), task_id

    async def _run_clone(self, ctx: TaskContext) -> None:
        assert ctx.target_id is not None
        async with self.engine.connect() as conn:
            src = await folder_by_id(conn, ctx.folder_id)
            dst = await folder_by_id(conn, ctx.target_id)
        if src is None or dst is None:
            raise NotFound("the source or target folder of this clone is gone")
        vol = self.volume(dst.host)
        await self._empty(dst)  # a clone resumed after a restart starts over
        claim = await self.quota.reservation(dst, clone_claim(dst.id), src.cur_size)
        await clone_tree(self.io, vol, src, dst, ctx.progress, claim)
        await claim.release()
        async with self.engine.begin() as conn:
            await set_status(conn, dst.id, READY)
            await self._end_cloning(conn, src.id)
        self.events.folder_changed(dst.id)

    @staticmethod
    async def _end_cloning(conn: AsyncConnection, folder_id: uuid.UUID) -> None:
        status = await conn.scalar(sa.select(v.c.status).where(v.c.id == folder_id))
        if status == CLONING:
            await set_status(conn, folder_id, READY)

    async def _empty(self, folder: VFolder) -> None:
        vol = self.volume(folder.host)
        await vol.remove_folder(ref_of(folder))
        await vol.create_folder(ref_of(folder))
        async with self.engine.begin() as conn:
            await conn.execute(
                v.update().where(v.c.id == folder.id).values(num_files=0, cur_size=0)
            )

    async def _fail_clone(self, ctx: TaskContext, exc: BaseException) -> None:
        # The target keeps no partial copy: it is emptied and left in `error`, which its
        # owner can trash and delete.
        if ctx.target_id is not None:
            await self.quota.drop_claim(clone_claim(ctx.target_id))
            async with self.engine.connect() as conn:
                dst = await folder_by_id(conn, ctx.target_id)
            if dst is not None:
                try:
                    await self._empty(dst)
                except Exception as e:  # the statuses below must be set whatever happens
                    log.warning("could not empty the failed clone %s: %s", dst.id, e)
        async with self.engine.begin() as conn:
            await self._end_cloning(conn, ctx.folder_id)
            if ctx.target_id is not None:
                await set_status(conn, ctx.target_id, ERROR)
        if ctx.target_id is not None:
            self.events.folder_changed(ctx.target_id)
