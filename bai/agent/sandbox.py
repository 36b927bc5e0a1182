"""Provides the bubblewrap command line of a session's sandbox.

The sandbox's root is a fresh tmpfs. Into it go, read-only, the top-level entries of the
image root — except the directories that would show the host rather than the image (`/home`,
`/root`, `/tmp`, `/run`, `/mnt`, …) — then a new `/proc`, a minimal `/dev`, a private `/tmp`,
the scratch home at `/home/work` and the folders at their targets (`ro` ones read-only: the
bind mount itself is read-only, so the kernel refuses writes whatever the file modes say).
When the image root contains the node's data directory or a volume (an image root of `/`),
an empty tmpfs covers each, so nothing of the node is visible. The process runs as uid/gid
1000 in a new user namespace without capabilities, in new pid, ipc, uts, cgroup and (unless
the image allows the network) net namespaces, and cannot make further user namespaces.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from bai.sessions.models import SandboxSpec
from bai.sessions.mountspec import HOME

BWRAP = "bwrap"
UID = GID = 1000
# Top-level directories never taken from the image root: they hold the host's state (or
# would), and the sandbox provides its own where programs expect one.
NOT_FROM_IMAGE = frozenset(
    {"proc", "dev", "sys", "tmp", "home", "root", "run", "mnt", "media", "srv", "lost+found"}
)


def image_entries(rootfs: Path) -> list[tuple[str, str | None]]:
    """The image root's top-level entries to show: (name, symlink target or None)."""
    out: list[tuple[str, str | None]] = []
    for entry in sorted(os.scandir(rootfs), key=lambda e: e.name):
        if entry.name in NOT_FROM_IMAGE:
            continue
        out.append((entry.name, os.readlink(entry.path) if entry.is_symlink() else None))
    return out


def hidden_inside(spec: SandboxSpec, shown: set[str]) -> list[tuple[PurePosixPath, bool]]:
    """(path, is a directory) of what of the node (data directory, volumes, its config
    file) the image root would show."""
    out: list[tuple[PurePosixPath, bool]] = []
    root = spec.image.rootfs.resolve()
    for host in spec.hidden:
        if not host.is_relative_to(root) or host == root:
            continue
        inner = PurePosixPath("/") / host.relative_to(root)
        if inner.parts[1] in shown and (host.is_dir() or host.is_file()):
            out.append((inner, host.is_dir()))
    # One tmpfs covers whatever lies below it too.
    dirs = [p for p, is_dir in out if is_dir]
    return [(p, d) for p, d in out if not any(p != q and p.is_relative_to(q) for q in dirs)]


def bwrap_argv(
    spec: SandboxSpec,
    argv: Sequence[str],
    private: Sequence[tuple[PurePosixPath, bool]] = (),
    hostname: str = "main1",
) -> list[str]:
    """`private`: owner-only entries of the image root (see `bai.agent.private`), covered."""
    rootfs = spec.image.rootfs
    args = [
        BWRAP,
        "--die-with-parent",
        "--new-session",
        "--unshare-user",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--disable-userns",
        "--uid",
        str(UID),
        "--gid",
        str(GID),
        "--hostname",
        hostname,
    ]
    if not spec.network:
        args.append("--unshare-net")
    entries = image_entries(rootfs)
    for name, link in entries:
        if link is not None:
            args += ["--symlink", link, f"/{name}"]
        else:
            args += ["--ro-bind", str(rootfs / name), f"/{name}"]
    shown = {name for name, link in entries if link is None}
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
    for inner, is_dir in hidden_inside(spec, shown):
        args += ["--tmpfs", str(inner)] if is_dir else ["--ro-bind", "/dev/null", str(inner)]
    for path, is_dir in private:
        if path.parts[1] in shown:
            args += ["--tmpfs", str(path)] if is_dir else ["--ro-bind", "/dev/null", str(path)]
    args += ["--bind", str(spec.home), str(HOME)]
    # Parents before children, so a folder mounted inside another path's mount point lands
    # on top of it rather than under it.
    for m in sorted(spec.mounts, key=lambda m: len(m.target.parts)):
        args += ["--ro-bind" if m.read_only else "--bind", str(m.source), str(m.target)]
    args += ["--chdir", str(HOME), "--clearenv"]
    for key, value in sorted(spec.environ.items()):
        args += ["--setenv", key, value]
    return [*args, "--", *argv]
