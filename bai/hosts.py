"""Provides storage hosts: parsing host names once, the volumes behind them, and what a
caller may see of them (default host, allowed hosts, volume info)."""

from __future__ import annotations

from typing import Any

from bai.access import Principal, require_admin
from bai.errors import NotFound
from bai.storage.base import Volume


class HostService:
    def __init__(self, volumes: dict[str, Volume], default_host: str, node_name: str) -> None:
        self.volumes = volumes
        self.default_host = default_host
        self.node_name = node_name
        # Node-local volumes of other nodes sharing this node's database (name → that
        # node's URL), kept current by the node registry: their folders are served there,
        # and an error here says so instead of "no storage host".
        self.elsewhere: dict[str, str] = {}

    def parse(self, host: str | None) -> str:
        """The volume name of `host` (`VOLUME` or `NODE:VOLUME`); None means the default.

        A host of another node is refused rather than silently cut to its volume part: with
        several nodes, `b:local` and `a:local` are different volumes."""
        if host is None or host == "":
            return self.default_host
        node, sep, name = host.rpartition(":")
        if sep and node != self.node_name:
            raise NotFound(
                f"storage host {host!r} belongs to node {node!r}; this node is "
                f"{self.node_name!r}. `bai vfolder list-hosts` shows the hosts you can use"
            )
        if name not in self.volumes:
            raise NotFound(
                f"no storage host {host!r}; `bai vfolder list-hosts` shows the hosts you can use"
            )
        return name

    def volume(self, host: str) -> Volume:
        name = host.rpartition(":")[2]
        if name not in self.volumes and name in self.elsewhere:
            raise NotFound(
                f"storage host {host!r} is a volume of the node at {self.elsewhere[name]}; "
                "send file operations on its folders to that node (uploads and downloads "
                "through any node are sent there by themselves)"
            )
        return self.volumes[self.parse(host)]

    def allowed(self, p: Principal) -> list[str]:
        # A policy may name hosts this node does not (or no longer) configure; hide those.
        return sorted(h for h in p.allowed_hosts if h in self.volumes)

    async def volume_info(self, name: str) -> dict[str, Any]:
        vol = self.volumes[name]
        cap = await vol.capacity()
        return {
            "backend": vol.backend,
            "capabilities": vol.backend_ai_capabilities(),
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

    async def all_hosts(self, p: Principal) -> dict[str, Any]:
        """Every configured host, for administrators."""
        require_admin(p)
        names = sorted(self.volumes)
        return {
            "default": self.default_host,
            "allowed": names,
            "volume_info": {h: await self.volume_info(h) for h in names},
        }
