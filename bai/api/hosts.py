"""Provides the storage-host documents under `/folders/_/` (Backend.AI's shapes)."""

from __future__ import annotations

import msgspec

from bai.api.base import WireResponse


class VolumeUsage(WireResponse):
    percentage: float
    used_bytes: int
    capacity_bytes: int


class VolumeInfo(WireResponse):
    backend: str
    capabilities: list[str]
    usage: VolumeUsage
    sftp_scaling_groups: list[str] = msgspec.field(default_factory=list)


class HostList(WireResponse):
    """`GET /folders/_/hosts` (hosts the caller may use) and `/folders/_/all-hosts`."""

    default: str
    allowed: list[str]
    volume_info: dict[str, VolumeInfo]
