"""Provides `VfsVolume`: folders as plain directories under a local path."""

from __future__ import annotations

import asyncio
import os
import shutil

from bai.errors import ConfigError
from bai.storage.base import Capacity, Volume


class VfsVolume(Volume):
    backend = "vfs"
    capabilities = frozenset({"vfolder"})

    async def init(self) -> None:
        root = self.config.path
        assert root is not None  # config validation requires a path for vfs
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"volume.{self.name}.path: cannot create {root}: {e.strerror}"
            ) from None
        if not os.access(root, os.W_OK | os.X_OK):
            raise ConfigError(f"volume.{self.name}.path: {root} is not writable by this user")

    async def capacity(self) -> Capacity:
        assert self.config.path is not None
        usage = await asyncio.to_thread(shutil.disk_usage, self.config.path)
        return Capacity(used=usage.used, total=usage.total)
