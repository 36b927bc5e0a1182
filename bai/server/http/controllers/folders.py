"""Provides `/folders`: Backend.AI's folder routes (create, list, info, rename, trash, clone)."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from bai import api
from bai.errors import InvalidRequest
from bai.folders.filters import FolderFilter
from bai.server.http import wire
from bai.server.http.deps import Caller, Services


def _ident(ref: api.FolderRef) -> str:
    ident = ref.ident
    if not ident:
        raise InvalidRequest(
            "give the folder as `vfolder_id` (or `name`)", data={"vfolder_id": "required"}
        )
    return ident


class FoldersController(Controller):
    path = "/folders"
    tags = ("folders",)  # type: ignore[assignment]

    @post("/", operation_id="createFolder", status_code=HTTP_201_CREATED)
    async def create(
        self, principal: Caller, services: Services, data: JSONBody[api.FolderCreate]
    ) -> api.FolderInfo:
        """Create a user folder, or (admins) a project folder with `group`."""
        if data.unmanaged_path:
            raise InvalidRequest("unmanaged folders (an existing host path) are not supported")
        folder = await services.folders.create(
            principal,
            name=data.name,
            host=data.host,
            group=data.group,
            usage_mode=data.usage_mode,
            permission=data.permission,
            cloneable=data.cloneable,
        )
        return wire.folder_info(folder)

    @get("/", operation_id="listFolders")
    async def list_folders(
        self,
        principal: Caller,
        services: Services,
        name: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        host: FromQuery[str | None] = None,
        type: FromQuery[str | None] = None,
        permission: FromQuery[str | None] = None,
        usage_mode: FromQuery[str | None] = None,
        include_deleted: FromQuery[bool] = False,
    ) -> list[api.FolderInfo]:
        """Folders you can see: your own and your projects'; filters narrow the list."""
        flt = FolderFilter(
            name=name,
            status=status,
            host=host,
            ownership_type=type,
            permission=permission,
            usage_mode=usage_mode,
            include_deleted=include_deleted,
        )
        return [wire.folder_info(f) for f in await services.folders.list(principal, flt)]

    @delete("/", operation_id="trashFolderById", status_code=HTTP_204_NO_CONTENT)
    async def trash_by_id(
        self, principal: Caller, services: Services, data: JSONBody[api.FolderRef]
    ) -> None:
        """Move a folder to the trash, naming it by `id` in the body (the official client)."""
        await services.folders.trash(principal, _ident(data))

    @get("/{name:str}", operation_id="getFolder")
    async def info(
        self, principal: Caller, services: Services, name: FromPath[str]
    ) -> api.FolderInfo:
        """A folder by name or id."""
        return wire.folder_info(await services.folders.get(principal, name))

    @delete("/{name:str}", operation_id="trashFolder", status_code=HTTP_204_NO_CONTENT)
    async def trash(self, principal: Caller, services: Services, name: FromPath[str]) -> None:
        """Move a folder to the trash (restorable)."""
        await services.folders.trash(principal, name)

    @post("/{name:str}/rename", operation_id="renameFolder", status_code=200)
    async def rename(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.FolderRename],
    ) -> api.FolderInfo:
        return wire.folder_info(await services.folders.rename(principal, name, data.new_name))

    @post("/{name:str}/update-options", operation_id="updateFolderOptions", status_code=200)
    async def update_options(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.FolderOptions],
    ) -> api.FolderInfo:
        """Change the members' permission (project folders) or the cloneable flag."""
        folder = await services.folders.update_options(
            principal, name, permission=data.permission, cloneable=data.cloneable
        )
        return wire.folder_info(folder)

    @post("/{name:str}/clone", operation_id="cloneFolder", status_code=201)
    async def clone(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.FolderClone],
    ) -> api.ClonedFolder:
        """Copy a cloneable folder into a new user folder, in the background."""
        folder, task_id = await services.folders.clone(
            principal,
            name,
            target_name=data.target_name,
            target_host=data.target_host,
            usage_mode=data.usage_mode,
            permission=data.permission,
        )
        return wire.cloned_folder(folder, task_id)

    # Trash bin (Backend.AI ≥ 23.09 routes, by folder id or name).
    @post("/restore-from-trash-bin", operation_id="restoreFolder", status_code=200)
    async def restore(
        self, principal: Caller, services: Services, data: JSONBody[api.FolderRef]
    ) -> api.FolderInfo:
        return wire.folder_info(await services.folders.restore(principal, _ident(data)))

    @post("/delete-from-trash-bin", operation_id="deleteFolderForever", status_code=202)
    async def delete_forever(
        self, principal: Caller, services: Services, data: JSONBody[api.FolderRef]
    ) -> api.TaskStarted:
        """Delete a trashed folder forever; its data is removed by a background task."""
        task_id = await services.folders.delete_forever(principal, _ident(data))
        return api.TaskStarted(bgtask_id=task_id)

    @post("/purge", operation_id="purgeFolder", status_code=200)
    async def purge(
        self, principal: Caller, services: Services, data: JSONBody[api.FolderRef]
    ) -> api.Purged:
        """Remove a deleted folder's record (admins)."""
        ident = _ident(data)
        await services.folders.purge(principal, ident)
        return api.Purged(purged=ident)
