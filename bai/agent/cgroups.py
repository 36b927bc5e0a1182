"""Provides `Cgroups`: CPU, memory and process-count limits for a sandbox, in the kernel.

A run that has limits gets its own cgroup: a child of the node's cgroup on the unified (v2)
hierarchy when its controllers are delegated to us, else one per controller on the v1
hierarchies. The sandbox joins it before `bwrap` starts (a small `sh` wrapper writes its own
pid into `cgroup.procs` and execs), so every process of the sandbox is counted from the
start. When a limit cannot be applied on this host the session is refused with what is
missing, never started without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bai.errors import ServiceUnavailable
from bai.sessions.models import Limits

log = logging.getLogger("bai.agent")
CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000
# Joins the cgroups named by the first N arguments, then execs the rest.
JOIN_SH = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; ' \
    'n=$((n-1)); done; exec "$@"'  # fmt: skip


def _own_v2_cgroup() -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return CGROUP_ROOT / line[3:].lstrip("/")
    except OSError:
        return None
    return None


def _writable(p: Path) -> bool:
    return p.is_dir() and os.access(p, os.W_OK)


@dataclass
class RunCgroups:
    dirs: list[Path]

    @property
    def procs(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def kill(self) -> None:
        for d in self.dirs:
            if (d / "cgroup.kill").exists():
                with contextlib.suppress(OSError):
                    (d / "cgroup.kill").write_text("1")
                continue
            with contextlib.suppress(OSError):
                for pid in (d / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        os.kill(int(pid), 9)

    def remove(self) -> bool:
        """Remove the cgroups; False while the kernel still counts exiting processes."""
        left = []
        for d in self.dirs:
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                left.append(d)
        self.dirs = left
        return not left

    async def remove_soon(self, timeout: float = 5.0) -> None:
        """A cgroup is busy for a moment after its last process exits; retry until gone."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not self.remove() and loop.time() < end:
            await asyncio.sleep(0.05)
        if self.dirs:
            log.warning("cgroups %s are still busy; left in place", self.dirs)


class Cgroups:
    """Where this host lets us put limits."""

    def __init__(self, root: Path = CGROUP_ROOT) -> None:
        self.root = root
        own = _own_v2_cgroup() if root == CGROUP_ROOT else None
        self.v2: Path | None = None
        if own is not None and (own / "cgroup.controllers").exists() and _writable(own):
            ctrls = set((own / "cgroup.controllers").read_text().split())
            if {"cpu", "memory", "pids"} <= ctrls:
                self.v2 = own
        self.v1 = {
            c: root / c for c in ("cpu", "memory", "pids") if _writable(root / c)
        }  # fmt: skip

    def check(self, limits: Limits) -> None:
        if not limits.any or self.v2 is not None:
            return
        wanted = [
            (limits.cpu, "cpu"),
            (limits.memory, "memory"),
            (limits.pids, "pids"),
        ]
        missing = [name for value, name in wanted if value is not None and name not in self.v1]
        if missing:
            raise ServiceUnavailable(
                f"this host cannot apply the session's {', '.join(missing)} limit: no "
                f"writable cgroup controller for it under {self.root}; ask the operator to "
                "delegate cgroups to the node, or drop the limit from the image and request"
            )

    def create(self, name: str, limits: Limits) -> RunCgroups:
        self.check(limits)
        if not limits.any:
            return RunCgroups([])
        if self.v2 is not None:
            return RunCgroups([self._v2(name, limits)])
        made: list[Path] = []
        try:
            for ctrl, value, write in (
                ("cpu", limits.cpu, _v1_cpu),
                ("memory", limits.memory, _v1_memory),
                ("pids", limits.pids, _v1_pids),
            ):
                if value is None:
                    continue
                d = self.v1[ctrl] / name
                d.mkdir()
                made.append(d)
                write(d, value)
        except OSError as e:
            RunCgroups(made).remove()
            raise ServiceUnavailable(f"cannot set the session's limits: {e.strerror}") from None
        return RunCgroups(made)

    def _v2(self, name: str, limits: Limits) -> Path:
        assert self.v2 is not None
        d = self.v2 / name
        try:
            d.mkdir()
            if limits.cpu is not None:
                (d / "cpu.max").write_text(f"{int(limits.cpu * PERIOD_US)} {PERIOD_US}")
            if limits.memory is not None:
                (d / "memory.max").write_text(str(limits.memory))
            if limits.pids is not None:
                (d / "pids.max").write_text(str(limits.pids))
        except OSError as e:
            RunCgroups([d]).remove()
            raise ServiceUnavailable(f"cannot set the session's limits: {e.strerror}") from None
        return d


def _v1_cpu(d: Path, cores: float) -> None:
    (d / "cpu.cfs_period_us").write_text(str(PERIOD_US))
    (d / "cpu.cfs_quota_us").write_text(str(max(1000, int(cores * PERIOD_US))))


def _v1_memory(d: Path, limit: float) -> None:
    (d / "memory.limit_in_bytes").write_text(str(int(limit)))


def _v1_pids(d: Path, limit: float) -> None:
    (d / "pids.max").write_text(str(int(limit)))
