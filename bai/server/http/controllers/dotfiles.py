"""Provides Backend.AI's dotfile routes: `/user-config/dotfiles` (your own), and for
administrators `/group-config/dotfiles` (a project's) and `/domain-config/dotfiles`."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from bai.access import Principal
from bai.api import dotfiles as w
from bai.errors import Forbidden
from bai.node import Node
from bai.server.http.deps import Caller, Services
from bai.sessions.dotfiles import DOMAIN, GROUP, USER, DotfileOwner


async def _owner(
    services: Node,
    p: Principal,
    scope: str,
    group: str | None,
    domain: str | None,
    owner_access_key: str | None,
) -> DotfileOwner:
    if owner_access_key and owner_access_key != p.access_key:
        raise Forbidden("dotfiles of another access key cannot be managed here; use your own")
    return await services.dotfiles.owner(p, scope, group=group, domain=domain)


def _routes(scope: str, path: str, tag: str) -> type[Controller]:
    class DotfilesController(Controller):
        tags = ("dotfiles",)  # type: ignore[assignment]

        @post("", operation_id=f"create{tag}Dotfile", status_code=HTTP_200_OK)
        async def create(
            self, principal: Caller, services: Services, data: JSONBody[w.DotfileWrite]
        ) -> w.DotfileDone:
            """Add a dotfile (at most 100, 64 KiB in all; reserved paths refused)."""
            o = await _owner(
                services, principal, scope, data.group, data.domain, data.owner_access_key
            )
            await services.dotfiles.create(o, data.path, data.permission, data.data)
            return w.DotfileDone(path=data.path)

        @get("", operation_id=f"list{tag}Dotfiles")
        async def read(
            self,
            principal: Caller,
            services: Services,
            path: FromQuery[str | None] = None,
            group: FromQuery[str | None] = None,
            domain: FromQuery[str | None] = None,
            owner_access_key: FromQuery[str | None] = None,
        ) -> list[w.DotfileItem] | w.DotfileItem:
            """Every dotfile, or with `path` just that one."""
            o = await _owner(services, principal, scope, group, domain, owner_access_key)
            if path:
                f = await services.dotfiles.get(o, path)
                return w.DotfileItem(path=f.path, permission=f.permission, data=f.data)
            return [
                w.DotfileItem(path=f.path, permission=f.permission, data=f.data)
                for f in await services.dotfiles.entries(o)
            ]

        @patch("", operation_id=f"update{tag}Dotfile", status_code=HTTP_200_OK)
        async def update(
            self, principal: Caller, services: Services, data: JSONBody[w.DotfileWrite]
        ) -> w.DotfileDone:
            """Replace a dotfile's content and permission."""
            o = await _owner(
                services, principal, scope, data.group, data.domain, data.owner_access_key
            )
            await services.dotfiles.update(o, data.path, data.permission, data.data)
            return w.DotfileDone(path=data.path)

        @delete("", operation_id=f"delete{tag}Dotfile", status_code=HTTP_200_OK)
        async def remove(
            self,
            principal: Caller,
            services: Services,
            path: FromQuery[str],
            group: FromQuery[str | None] = None,
            domain: FromQuery[str | None] = None,
            owner_access_key: FromQuery[str | None] = None,
        ) -> w.DotfileDeleted:
            """Remove a dotfile."""
            o = await _owner(services, principal, scope, group, domain, owner_access_key)
            await services.dotfiles.delete(o, path)
            return w.DotfileDeleted(success=True)

    DotfilesController.path = path
    DotfilesController.__name__ = f"{tag}DotfilesController"
    return DotfilesController


UserDotfilesController = _routes(USER, "/user-config/dotfiles", "User")
GroupDotfilesController = _routes(GROUP, "/group-config/dotfiles", "Group")
DomainDotfilesController = _routes(DOMAIN, "/domain-config/dotfiles", "Domain")
