"""Provides the map from backend names in node.toml to volume classes."""

from __future__ import annotations

import os
from collections.abc import Iterable

from bai.config import VolumeConfig
from bai.errors import ConfigError
from bai.storage.base import Volume
from bai.storage.btrfs import BtrfsVolume
from bai.storage.buckets import MinioVolume
from bai.storage.vfs import VfsVolume

BACKEND_CLASSES: dict[str, type[Volume]] = {
    "vfs": VfsVolume,
    "btrfs": BtrfsVolume,
    "minio": MinioVolume,
}


async def open_volumes(configs: dict[str, VolumeConfig]) -> dict[str, Volume]:
    volumes: dict[str, Volume] = {}
    for name, cfg in configs.items():
        cls = BACKEND_CLASSES.get(cfg.backend)
        if cls is None:
            raise ConfigError(f"volume {name!r}: backend {cfg.backend!r} is not available")
        vol = cls(cfg)
        await vol.init()
        volumes[name] = vol
    return volumes


def check_volume_configs(configs: Iterable[VolumeConfig]) -> None:
    """Refuse unusable volume paths before the node writes anything at all."""
    for cfg in configs:
        if cfg.backend not in BACKEND_CLASSES:
            raise ConfigError(f"volume {cfg.name!r}: backend {cfg.backend!r} is not available")
        if cfg.path is None:
            continue
        probe = cfg.path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if cfg.path.exists() and not cfg.path.is_dir():
            raise ConfigError(f"volume.{cfg.name}.path: {cfg.path} exists and is not a directory")
        if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
            raise ConfigError(
                f"volume.{cfg.name}.path: cannot use {cfg.path}: "
                f"{probe} is not a writable directory"
            )
