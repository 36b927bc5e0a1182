"""Provides `/folders`: Backend.AI's folder routes (create, list, info, rename, trash, clone)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from bai.errors import InvalidRequest
from bai.folders.service import FolderFilter
from bai.server.body import field, json_body
from bai.server.deps import Caller, Services


@dataclass
class NewFolder:
    name: str
    host: str | None = None
    group: str | None = None
    usage_mode: str = "general"
    permission: str = "rw"
    cloneable: bool = False
    # Sent by the official client; accepted for compatibility.
    quota: str | int | None = None
    unmanaged_path: str | None = None


@dataclass
class Rename:
    new_name: str


@dataclass
class Options:
    permission: str | None = None
    cloneable: bool | None = None


@dataclass
class CloneRequest:
    target_name: str
    target_host: str | None = None
    usage_mode: str | None = None
    permission: str = "rw"


class FoldersController(Controller):
    path = "/folders"
    tags = ("folders",)  # type: ignore[assignment]

    @post("/", operation_id="createFolder", status_code=HTTP_201_CREATED)
    async def create(
        self, principal: Caller, services: Services, data: JSONBody[NewFolder]
    ) -> dict[str, Any]:
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
        return folder.to_dict()

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
    ) -> list[dict[str, Any]]:
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
        return [f.to_dict() for f in await services.folders.list(principal, flt)]

    @delete("/", operation_id="trashFolderById", status_code=HTTP_204_NO_CONTENT)
    async def trash_by_id(
        self, principal: Caller, services: Services, request: Request[Any, Any, Any]
    ) -> None:
        body = await json_body(request)
        await services.folders.trash(principal, str(field(body, "id", str)))

    @get("/{name:str}", operation_id="getFolder")
    async def info(
        self, principal: Caller, services: Services, name: FromPath[str]
    ) -> dict[str, Any]:
        return (await services.folders.get(principal, name)).to_dict()

    @delete("/{name:str}", operation_id="trashFolder", status_code=HTTP_204_NO_CONTENT)
    async def trash(self, principal: Caller, services: Services, name: FromPath[str]) -> None:
        """Move a folder to the trash (restorable)."""
        await services.folders.trash(principal, name)

    @post("/{name:str}/rename", operation_id="renameFolder", status_code=200)
    async def rename(
        self, principal: Caller, services: Services, name: FromPath[str], data: JSONBody[Rename]
    ) -> dict[str, Any]:
        return (await services.folders.rename(principal, name, data.new_name)).to_dict()

    @post("/{name:str}/update-options", operation_id="updateFolderOptions", status_code=200)
    async def update_options(
        self, principal: Caller, services: Services, name: FromPath[str], data: JSONBody[Options]
    ) -> dict[str, Any]:
        folder = await services.folders.update_options(
            principal, name, permission=data.permission, cloneable=data.cloneable
        )
        return folder.to_dict()

    @post("/{name:str}/clone", operation_id="cloneFolder", status_code=201)
    async def clone(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[CloneRequest],
    ) -> dict[str, Any]:
        """Copy a cloneable folder into a new user folder, in the background."""
        folder, task_id = await services.folders.clone(
            principal,
            name,
            target_name=data.target_name,
            target_host=data.target_host,
            usage_mode=data.usage_mode,
            permission=data.permission,
        )
        return {**folder.to_dict(), "bgtask_id": str(task_id)}

    # Trash bin (Backend.AI ≥ 23.09 routes, by folder id or name).
    @post("/restore-from-trash-bin", operation_id="restoreFolder", status_code=200)
    async def restore(
        self, principal: Caller, services: Services, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        ident = _vfolder_ident(await json_body(request))
        return (await services.folders.restore(principal, ident)).to_dict()

    @post("/delete-from-trash-bin", operation_id="deleteFolderForever", status_code=202)
    async def delete_forever(
        self, principal: Caller, services: Services, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        ident = _vfolder_ident(await json_body(request))
        task_id = await services.folders.delete_forever(principal, ident)
        return {"bgtask_id": str(task_id)}

    @post("/purge", operation_id="purgeFolder", status_code=200)
    async def purge(
        self, principal: Caller, services: Services, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        ident = _vfolder_ident(await json_body(request))
        await services.folders.purge(principal, ident)
        return {"purged": ident}


def _vfolder_ident(body: dict[str, Any]) -> str:
    ident = body.get("vfolder_id") or body.get("id") or body.get("name")
    if not isinstance(ident, str) or not ident:
        raise InvalidRequest(
            "give the folder as `vfolder_id` (or `name`)", data={"vfolder_id": "required"}
        )
    return ident
