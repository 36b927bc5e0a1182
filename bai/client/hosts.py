"""Provides `client.hosts`: storage hosts, folder types, and the storage-status panel."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from bai import api

if TYPE_CHECKING:
    from bai.client.session import BaiClient


class HostsApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def list(self) -> api.HostList:
        """The default host and the hosts you may use, with backend and usage."""
        return await self._c.call("GET", "/folders/_/hosts", api.HostList)

    async def all(self) -> api.HostList:
        """Every host the node configures (admins)."""
        return await self._c.call("GET", "/folders/_/all-hosts", api.HostList)

    async def allowed_types(self) -> builtins.list[str]:
        """Folder ownership types the node allows (`user`, `group`)."""
        return await self._c.call("GET", "/folders/_/allowed-types", list[str])

    async def status(self) -> api.StorageStatus:
        """Your folder counts, and per host its capacity and your quota scopes."""
        return await self._c.call("GET", "/folders/_/status", api.StorageStatus)
