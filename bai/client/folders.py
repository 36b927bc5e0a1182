"""Provides `client.folders`: create, list, inspect, rename, trash and clone folders."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from bai import api
from bai.client.paths import folder_path

if TYPE_CHECKING:
    from bai.client.session import BaiClient


class FoldersApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def list(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        host: str | None = None,
        type: str | None = None,
        permission: str | None = None,
        usage_mode: str | None = None,
        include_deleted: bool = False,
    ) -> builtins.list[api.FolderInfo]:
        """The folders you can see (your own and your projects'), narrowed by the filters;
        `name` matches a part of the name, case-insensitively."""
        params = {
            "name": name,
            "status": status,
            "host": host,
            "type": type,
            "permission": permission,
            "usage_mode": usage_mode,
            "include_deleted": "true" if include_deleted else None,
        }
        return await self._c.call("GET", "/folders", list[api.FolderInfo], params=params)

    async def create(
        self,
        name: str,
        host: str | None = None,
        *,
        group: str | None = None,
        usage_mode: str = "general",
        permission: str = "rw",
        cloneable: bool = False,
    ) -> api.FolderInfo:
        """A user folder, or with `group` (a project's name or id) a project folder."""
        body = api.FolderCreate(
            name=name,
            host=host,
            group=group,
            usage_mode=usage_mode,
            permission=permission,
            cloneable=cloneable,
        )
        return await self._c.call("POST", "/folders", api.FolderInfo, body=body)

    async def import_bucket(self, body: api.BucketImport) -> api.FolderInfo:
        """(Admins) An existing bucket or prefix made a folder, without copying."""
        return await self._c.call("POST", "/folders/_/import", api.FolderInfo, body=body)

    async def info(self, name: str) -> api.FolderInfo:
        """A folder by name or id (deleted folders only by id once the name is reused)."""
        return await self._c.call("GET", folder_path(name), api.FolderInfo)

    async def rename(self, name: str, new_name: str) -> api.FolderInfo:
        body = api.FolderRename(new_name=new_name)
        return await self._c.call("POST", folder_path(name, "/rename"), api.FolderInfo, body=body)

    async def update_options(
        self, name: str, *, permission: str | None = None, cloneable: bool | None = None
    ) -> api.FolderInfo:
        """Change the members' permission (project folders) or the cloneable flag; the answer's
        `folder_permission` is the folder's permission, `permission` the caller's."""
        body = api.FolderOptions(permission=permission, cloneable=cloneable)
        path = folder_path(name, "/update-options")
        return await self._c.call("POST", path, api.FolderInfo, body=body)

    async def delete(self, name: str) -> None:
        """Move a folder to the trash (restorable)."""
        await self._c.call_empty("DELETE", folder_path(name))

    async def restore(self, ident: str) -> api.FolderInfo:
        """Bring a folder back from the trash (by name or id)."""
        body = api.FolderRef(vfolder_id=ident)
        return await self._c.call(
            "POST", "/folders/restore-from-trash-bin", api.FolderInfo, body=body
        )

    async def delete_forever(self, ident: str) -> api.TaskStarted:
        """Delete a trashed folder forever: its name is free at once, its data goes away in
        the background task the answer names."""
        body = api.FolderRef(vfolder_id=ident)
        return await self._c.call(
            "POST", "/folders/delete-from-trash-bin", api.TaskStarted, body=body
        )

    async def purge(self, ident: str) -> api.Purged:
        """Remove a deleted folder's record (admins)."""
        body = api.FolderRef(vfolder_id=ident)
        return await self._c.call("POST", "/folders/purge", api.Purged, body=body)

    async def clone(
        self,
        name: str,
        target_name: str,
        *,
        target_host: str | None = None,
        usage_mode: str | None = None,
        permission: str = "rw",
    ) -> api.ClonedFolder:
        """Start copying a cloneable folder into a new folder; follow `bgtask_id` with
        `client.tasks`."""
        body = api.FolderClone(
            target_name=target_name,
            target_host=target_host,
            usage_mode=usage_mode,
            permission=permission,
        )
        return await self._c.call("POST", folder_path(name, "/clone"), api.ClonedFolder, body=body)
