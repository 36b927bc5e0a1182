"""Provides the storage-host routes under `/folders/_/`."""

from __future__ import annotations

from litestar import Controller, get

from bai import api
from bai.enums import Ownership, choices
from bai.server.http import wire
from bai.server.http.deps import Caller, Services


class HostsController(Controller):
    path = "/folders/_"
    tags = ("hosts",)  # type: ignore[assignment]

    @get("/hosts", operation_id="listHosts")
    async def hosts(self, principal: Caller, services: Services) -> api.HostList:
        """Default host, hosts the caller may use, and their backend, capabilities and usage."""
        return wire.convert(await services.hosts.hosts_for(principal), api.HostList)

    @get("/all-hosts", operation_id="listAllHosts")
    async def all_hosts(self, principal: Caller, services: Services) -> api.HostList:
        """Every configured host (admins only)."""
        return wire.convert(await services.hosts.all_hosts(principal), api.HostList)

    @get("/allowed-types", operation_id="listAllowedTypes")
    async def allowed_types(self) -> list[str]:
        """Folder ownership types this node allows."""
        return choices(Ownership)

    # The official client 23.9.10 spells these two with underscores.
    @get("/all_hosts", include_in_schema=False)
    async def all_hosts_alias(self, principal: Caller, services: Services) -> api.HostList:
        return await self.all_hosts.fn(self, principal, services)  # type: ignore[no-any-return]

    @get("/allowed_types", include_in_schema=False)
    async def allowed_types_alias(self) -> list[str]:
        return choices(Ownership)
