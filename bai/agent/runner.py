"""Provides `BwrapRunner`: the `SessionRunner` that runs sessions in bubblewrap sandboxes.

`prepare` makes the session's scratch home and writes its dotfiles; `run` starts `bwrap`
(inside the run's cgroups when it has limits), streams its output to the session and returns
its exit code; `teardown` removes the scratch home. Cancelling a run kills its whole sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from bai.agent.cgroups import JOIN_SH, Cgroups
from bai.agent.private import PrivatePaths
from bai.agent.sandbox import BWRAP, GID, UID, bwrap_argv, image_entries
from bai.errors import InvalidRequest, ServiceUnavailable
from bai.sessions.models import DotfileEntry, SandboxSpec
from bai.sessions.runner import OutputSink

log = logging.getLogger("bai.agent")
CHUNK = 64 * 1024


def _dir_mode(perm: int) -> int:
    """A dotfile's directories get its permission, plus search wherever it may be read."""
    mode = perm & 0o777
    for r, x in ((0o400, 0o100), (0o040, 0o010), (0o004, 0o001)):
        if mode & r:
            mode |= x
    return mode | 0o700


def write_dotfiles(home: Path, dotfiles: Sequence[DotfileEntry]) -> None:
    for f in dotfiles:
        rel = Path(f.path)
        if rel.is_absolute() or ".." in rel.parts:
            raise InvalidRequest(f"dotfile path {f.path!r} leaves /home/work")
        cur = home
        for part in rel.parts[:-1]:
            cur = cur / part
            if not cur.exists():
                cur.mkdir()
                os.chmod(cur, _dir_mode(f.permission))
            elif cur.is_symlink() or not cur.is_dir():
                raise InvalidRequest(f"dotfile {f.path!r}: {cur.relative_to(home)} is not a dir")
        target = home / rel
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f.data)
            os.fchmod(out.fileno(), f.permission & 0o777)  # never setuid/setgid


class BwrapRunner:
    """Runs sessions' commands in bubblewrap; one per node, attached by `bai serve`."""

    def __init__(self, bwrap: str | None = None, cgroups: Cgroups | None = None) -> None:
        self.bwrap = bwrap or shutil.which(BWRAP)
        self.cgroups = cgroups or Cgroups()
        self.private = PrivatePaths()
        self._runs = 0

    @property
    def available(self) -> bool:
        return self.bwrap is not None

    async def prepare(self, spec: SandboxSpec) -> None:
        if self.bwrap is None:
            raise ServiceUnavailable(
                "bubblewrap (`bwrap`) is not installed on the node; the operator installs "
                "it with `apt-get install bubblewrap`"
            )
        if not spec.image.rootfs.is_dir():
            raise ServiceUnavailable(
                f"image {spec.image.name!r} has no root filesystem at {spec.image.rootfs}; "
                "ask the operator to fix node.toml"
            )
        self.cgroups.check(spec.limits)
        await self._private(spec)  # the first session of an image waits for the walk
        await asyncio.to_thread(self._make_home, spec)

    async def _private(self, spec: SandboxSpec) -> list[tuple[PurePosixPath, bool]]:
        tops = [name for name, link in image_entries(spec.image.rootfs) if link is None]
        return await self.private.of(spec.image.rootfs, tops, spec.hidden)

    @staticmethod
    def _make_home(spec: SandboxSpec) -> None:
        spec.scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        spec.home.mkdir(mode=0o755)
        write_dotfiles(spec.home, spec.dotfiles)
        # Mount points for folders under /home/work: bwrap would make them, but owned by the
        # sandbox user (host root) with a umask it chose; making them here keeps them tidy.
        for m in spec.mounts:
            if m.target.is_relative_to("/home/work"):
                point = spec.home / m.target.relative_to("/home/work")
                point.mkdir(parents=True, exist_ok=True)
        st = spec.home.stat()
        if not stat.S_ISDIR(st.st_mode):
            raise ServiceUnavailable(f"scratch home {spec.home} is not a directory")

    async def run(self, spec: SandboxSpec, argv: Sequence[str], sink: OutputSink) -> int:
        assert self.bwrap is not None
        self._runs += 1
        name = f"bai-{spec.session_id.hex[:12]}-{self._runs}"
        groups = self.cgroups.create(name, spec.limits)
        cmd = bwrap_argv(spec, argv, await self._private(spec))
        cmd[0] = self.bwrap
        if groups.dirs:
            cmd = ["/bin/sh", "-c", JOIN_SH, "sh", str(len(groups.dirs)), *groups.procs, *cmd]
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
            )
        except OSError as e:
            groups.remove()
            raise ServiceUnavailable(f"cannot start the sandbox: {e.strerror}") from None
        try:
            assert proc.stdout is not None and proc.stderr is not None
            await asyncio.gather(
                _pump(proc.stdout, "stdout", sink), _pump(proc.stderr, "stderr", sink)
            )
            code = await proc.wait()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            groups.kill()
            with contextlib.suppress(Exception):
                await asyncio.shield(proc.wait())
            raise
        finally:
            groups.kill()
            await groups.remove_soon()
        return 128 - code if code < 0 else code

    async def teardown(self, spec: SandboxSpec) -> None:
        await asyncio.to_thread(shutil.rmtree, spec.scratch, True)


async def _pump(stream: asyncio.StreamReader, name: str, sink: OutputSink) -> None:
    while chunk := await stream.read(CHUNK):
        await sink(name, chunk)


__all__ = ["GID", "UID", "BwrapRunner", "write_dotfiles"]
