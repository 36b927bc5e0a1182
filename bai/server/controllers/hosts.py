"""Provides the storage-host routes under `/folders/_/`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get

from bai.access import Principal, require_admin
from bai.server.services import NodeServices


class HostsController(Controller):
    path = "/folders/_"
    tags = ("hosts",)  # type: ignore[assignment]

    @get("/hosts", operation_id="listHosts")
    async def hosts(self, principal: Principal, services: NodeServices) -> dict[str, Any]:
        """Default host, hosts the caller may use, and their backend, capabilities and usage."""
        return await services.hosts.hosts_for(principal)

    @get(["/all-hosts", "/all_hosts"], operation_id="listAllHosts")
    async def all_hosts(self, principal: Principal, services: NodeServices) -> dict[str, Any]:
        """Every configured host (admins only)."""
        require_admin(principal)
        return await services.hosts.all_hosts()

    @get(["/allowed-types", "/allowed_types"], operation_id="listAllowedTypes")
    async def allowed_types(self) -> list[str]:
        """Folder ownership types this node allows."""
        return ["user", "group"]
