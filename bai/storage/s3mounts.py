"""Provides `S3fsMounts`: buckets (or prefixes) mounted with s3fs for sessions to bind.

The seed's agent part. One mount serves every session that needs the same (endpoint, bucket,
prefix, credentials, read-only) and is counted: the first acquire mounts, the last release
unmounts. A lock per mount serialises acquire and release of that mount, so a release that
races a new acquire either keeps the mount (the acquire came first) or finishes unmounting
before the acquire mounts again — never a double mount and never an unmount under a live user.
The credentials go to s3fs in a 0600 password file that is removed once the mount is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bai.errors import NotSupported, ServiceUnavailable

log = logging.getLogger("bai.storage")
_MOUNT_WAIT = 15.0


@dataclass(frozen=True)
class MountKey:
    url: str
    bucket: str
    prefix: str  # "" or "dir/sub/"
    access_key: str
    secret_digest: str  # tells credentials apart without holding the secret
    read_only: bool

    @property
    def name(self) -> str:
        raw = "|".join(
            (self.url, self.bucket, self.prefix, self.access_key, self.secret_digest)
        ) + ("|ro" if self.read_only else "|rw")
        return hashlib.sha256(raw.encode()).hexdigest()[:24]


@dataclass
class MountOptions:
    uid: int = field(default_factory=os.getuid)
    gid: int = field(default_factory=os.getgid)
    umask: str = "0077"
    extra: str = ""  # more `-o` options, comma-separated


def secret_digest(secret: str) -> str:
    return hashlib.sha256(b"bai-mount:" + secret.encode()).hexdigest()[:16]


def fuse_mounts(under: Path) -> list[Path]:
    """s3fs mount points below `under`, from /proc/mounts (the kernel's word)."""
    found = []
    prefix = str(under).rstrip("/") + "/"
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[2] == "fuse.s3fs":
                point = parts[1].replace("\\040", " ")
                if point.startswith(prefix):
                    found.append(Path(point))
    return found


class S3fsMounts:
    def __init__(self, root: Path, volume: str, limit: int, options: MountOptions) -> None:
        self.root = root
        self.volume = volume
        self.limit = limit
        self.options = options
        self._held: dict[MountKey, int] = {}
        self._locks: dict[MountKey, asyncio.Lock] = {}

    def count(self, key: MountKey) -> int:
        return self._held.get(key, 0)

    @property
    def live(self) -> int:
        return sum(1 for n in self._held.values() if n > 0)

    def path(self, key: MountKey) -> Path:
        return self.root / key.name

    async def acquire(self, key: MountKey, secret: str, verify_tls: bool) -> Path:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            held = self._held.get(key, 0)
            if held == 0:
                await self._mount(key, secret, verify_tls)
                if self.live + 1 > self.limit:
                    log.warning(
                        "storage host %s: %d live s3fs mounts, more than max-mounts = %d; "
                        "each mount is a process and a connection pool",
                        self.volume,
                        self.live + 1,
                        self.limit,
                    )
            self._held[key] = held + 1
            return self.path(key)

    async def release(self, key: MountKey) -> None:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            held = self._held.get(key, 0)
            if held <= 1:
                self._held.pop(key, None)
                if held == 1:
                    await self._unmount(self.path(key))
            else:
                self._held[key] = held - 1

    async def _mount(self, key: MountKey, secret: str, verify_tls: bool) -> None:
        exe = shutil.which("s3fs")
        if exe is None:
            raise NotSupported(
                f"storage host {self.volume!r}: s3fs is not installed, so bucket folders cannot "
                "be mounted into sessions (apt-get install s3fs)"
            )
        point = self.path(key)
        if point in fuse_mounts(self.root):  # left by a crash of this node: start clean
            await self._unmount(point)
        point.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)  # mounted buckets are for sessions, not for local users
        source = key.bucket + (":/" + key.prefix.rstrip("/") if key.prefix else "")
        with tempfile.TemporaryDirectory(prefix=".pw-", dir=self.root) as tmp:
            pw = Path(tmp) / "passwd"
            fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"{key.access_key}:{secret}\n")
            opts = [
                f"passwd_file={pw}",
                f"url={key.url}",
                "use_path_request_style",
                f"uid={self.options.uid}",
                f"gid={self.options.gid}",
                f"umask={self.options.umask}",  # 0077: only the node (and its sandboxes)
                "mp_umask=0022",
            ]
            if os.getuid() == 0:
                opts.append("allow_other")  # sandboxes in their own user namespace see it
            if key.read_only:
                opts.append("ro")
            if not verify_tls:
                opts += ["no_check_certificate", "ssl_verify_hostname=0"]
            if self.options.extra:
                opts.append(self.options.extra)
            # s3fs forks a daemon that keeps the descriptors it inherits: a pipe would never
            # reach EOF. Its messages go to a file; the foreground process exits once the
            # daemon runs.
            errfile = Path(tmp) / "stderr"
            with errfile.open("wb") as err:
                proc = await asyncio.create_subprocess_exec(
                    exe,
                    source,
                    str(point),
                    "-o",
                    ",".join(opts),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=err,
                )
                await proc.wait()
            if proc.returncode != 0 or not await self._appears(point):
                await self._unmount(point)
                raw = errfile.read_bytes()[-2000:]
                reason = raw.decode(errors="replace").strip().replace(secret, "***")
                raise ServiceUnavailable(
                    f"storage host {self.volume!r}: s3fs could not mount bucket "
                    f"{key.bucket!r}: {reason or 'the mount did not appear'}"
                )
        # The password file is gone with the temporary directory; s3fs read it at start.

    async def _appears(self, point: Path) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _MOUNT_WAIT
        while loop.time() < deadline:
            if point in fuse_mounts(self.root):
                return True
            await asyncio.sleep(0.05)
        return False

    async def _unmount(self, point: Path) -> None:
        for cmd in (["fusermount", "-u", str(point)], ["umount", "-l", str(point)]):
            if shutil.which(cmd[0]) is None:
                continue
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            await proc.wait()
            if point not in fuse_mounts(self.root):
                break
        with contextlib.suppress(OSError):
            point.rmdir()

    async def clean_stale(self) -> int:
        """Unmount what a crashed run left mounted (nothing holds those mounts now)."""
        stale = fuse_mounts(self.root) if self.root.exists() else []
        for point in stale:
            log.info("storage host %s: unmounting stale s3fs mount %s", self.volume, point)
            await self._unmount(point)
        return len(stale)

    async def close(self) -> None:
        """Unmount everything (node shutdown): sessions are gone with the node."""
        for key in list(self._held):
            self._held.pop(key, None)
            await self._unmount(self.path(key))
