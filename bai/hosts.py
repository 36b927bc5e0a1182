"""Provides the storage-host view of a principal: default host, allowed hosts, volume info."""

from __future__ import annotations

from typing import Any

from bai.access import Principal
from bai.storage.base import Volume


class HostService:
    def __init__(self, volumes: dict[str, Volume], default_host: str) -> None:
        self.volumes = volumes
        self.default_host = default_host

    def allowed(self, p: Principal) -> list[str]:
        # A policy may name hosts this node does not (or no longer) configure; hide those.
        return sorted(h for h in p.allowed_hosts if h in self.volumes)

    async def volume_info(self, name: str) -> dict[str, Any]:
        vol = self.volumes[name]
        cap = await vol.capacity()
        return {
            "backend": vol.backend,
            "capabilities": sorted(vol.capabilities),
            "usage": {
                "percentage": cap.percentage,
                "used_bytes": cap.used,
                "capacity_bytes": cap.total,
            },
            "sftp_scaling_groups": [],
        }

    async def hosts_for(self, p: Principal) -> dict[str, Any]:
        """The `/folders/_/hosts` document, shaped as Backend.AI's manager answers it."""
        allowed = self.allowed(p)
        return {
            "default": self.default_host,
            "allowed": allowed,
            "volume_info": {h: await self.volume_info(h) for h in allowed},
        }

    async def all_hosts(self) -> dict[str, Any]:
        names = sorted(self.volumes)
        return {
            "default": self.default_host,
            "allowed": names,
            "volume_info": {h: await self.volume_info(h) for h in names},
        }
