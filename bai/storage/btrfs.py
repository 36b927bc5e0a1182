"""Provides `BtrfsVolume`: folders on btrfs, each quota scope a subvolume with a qgroup limit.

The kernel enforces the limit for every writer (uploads, SFTP, compute sessions alike) and
reports the scope's usage instantly. Folders are plain directories inside their scope's
subvolume, so every file operation is the vfs one; staging and trash live inside the scope
too, because a rename cannot cross a subvolume and staged bytes should count against it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from bai.errors import BaiError, ConfigError, NotFound
from bai.storage.base import Capability, FolderRef
from bai.storage.confined import STAGING, TRASH
from bai.storage.vfs import VfsVolume


async def _btrfs(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        "btrfs", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise BaiError(
            f"btrfs {args[0]} {args[1] if len(args) > 1 else ''} failed: "
            f"{err.decode(errors='replace').strip()}"
        )
    return out.decode()


def _fs_type(path: Path) -> str | None:
    """The filesystem type of the mount holding `path` (longest matching mount point)."""
    real = os.path.realpath(path)
    best, kind = "", None
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1].replace("\\040", " ")
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                best, kind = mnt, parts[2]
    return kind


class BtrfsVolume(VfsVolume):
    backend = "btrfs"
    capabilities = VfsVolume.capabilities | Capability.KERNEL_QUOTA | Capability.FAST_SIZE

    async def init(self) -> None:
        root = self.root
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(
                f"volume.{self.name}.path: cannot create {root}: {e.strerror}"
            ) from None
        kind = _fs_type(root)
        if kind != "btrfs":
            raise ConfigError(
                f"volume.{self.name}.path: {root} is on {kind or 'an unknown filesystem'}, "
                'not btrfs; mount a btrfs filesystem there or use backend = "vfs"'
            )
        try:
            await _btrfs("quota", "enable", str(root))
        except BaiError as e:
            raise ConfigError(f"volume.{self.name}: cannot enable btrfs quotas: {e.msg}") from None
        except FileNotFoundError:
            raise ConfigError(
                f"volume.{self.name}: the `btrfs` command is missing; install btrfs-progs"
            ) from None
        with contextlib.suppress(OSError):
            root.chmod(0o700)  # as on vfs: no other local user reaches what sessions planted

    def scope_dir(self, scope_hex: str) -> Path:
        return self.root / scope_hex

    def staging_dir(self, ref: FolderRef) -> Path:
        return self.scope_dir(ref.scope_hex) / STAGING

    def trash_dir(self, ref: FolderRef) -> Path:
        return self.scope_dir(ref.scope_hex) / TRASH

    def _staging_dirs(self) -> list[Path]:
        return [p / STAGING for p in self.root.iterdir() if (p / STAGING).is_dir()]

    async def ensure_scope(self, scope_hex: str, limit: int) -> None:
        path = self.scope_dir(scope_hex)
        if not path.exists():
            await _btrfs("subvolume", "create", str(path))
            await self.set_scope_limit(scope_hex, limit)
        for sub in (STAGING, TRASH):
            (path / sub).mkdir(exist_ok=True)

    async def set_scope_limit(self, scope_hex: str, limit: int) -> None:
        path = self.scope_dir(scope_hex)
        if not path.exists():
            return  # applied when the scope's subvolume is made
        await _btrfs("qgroup", "limit", str(limit) if limit else "none", str(path))

    async def scope_usage(self, scope_hex: str, fresh: bool = False) -> int | None:
        path = self.scope_dir(scope_hex)
        if not path.exists():
            return 0
        if fresh:
            # Deleted extents leave the qgroup only when the transaction commits.
            await _btrfs("filesystem", "sync", str(path))
        out = await _btrfs("qgroup", "show", "-reF", "--raw", str(path))
        for line in out.splitlines():
            fields = line.split()
            if fields and fields[0].startswith("0/"):
                return int(fields[1])  # referenced bytes of the subvolume's own qgroup
        raise NotFound(f"no qgroup for quota scope {scope_hex}; run `btrfs quota rescan`")

    async def create_folder(self, ref: FolderRef) -> None:
        if not self.scope_dir(ref.scope_hex).exists():
            await self.ensure_scope(ref.scope_hex, 0)
        await super().create_folder(ref)
