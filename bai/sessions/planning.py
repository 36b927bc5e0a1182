"""Provides mount planning: which folders a new session gets, where, and how.

Every folder a request names is checked through `bai.access` (`MOUNT`: the caller must see
it, hold the host's `mount-in-session` grant, and the folder must not be in a delete state);
`rw` on a folder the caller holds `ro` is refused. The caller's own dot-named folders are
added at `/home/work/.NAME` (automount), a pipeline folder at `/pipeline`. Paths that collide,
overlap, or fall inside the image's own directories are refused before anything starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from bai import access
from bai.access import Principal
from bai.enums import Ownership, Permission, UsageMode
from bai.errors import BaiError, Forbidden, InvalidRequest
from bai.folders.models import VFolder
from bai.folders.service import FolderService
from bai.sessions.models import DotfileEntry
from bai.sessions.mountspec import HOME, PIPELINE, MountRequest, check_targets, resolve_target


@dataclass(frozen=True)
class PlannedMount:
    folder: VFolder
    target: PurePosixPath
    read_only: bool
    # A directory inside the folder that is mounted instead of its top: a project's
    # `.local` gives each member a subdirectory of their own (named by their user id).
    subdir: str | None = None


async def plan_mounts(
    folders: FolderService,
    p: Principal,
    requests: Iterable[MountRequest],
    rootfs: Path,
    pipeline: VFolder | None = None,
) -> list[PlannedMount]:
    planned: list[PlannedMount] = []
    for req in requests:
        folder = await folders.get(p, req.source, access.MOUNT)
        held = folder.caller_permission or Permission.RO
        if folder.read_only:  # an imported bucket marked read-only: nobody writes to it
            held = Permission.RO
        if req.perm == Permission.RW and not held.covers(Permission.RW):
            raise Forbidden(
                f"your permission on folder {folder.name!r} is 'ro'; mount it with perm=ro "
                "or without a permission"
            )
        read_only = req.perm == Permission.RO or not held.covers(Permission.RW)
        planned.append(PlannedMount(folder, resolve_target(folder.name, req.target), read_only))
    named = {m.folder.id for m in planned}
    taken = {m.target for m in planned}
    visible = await folders.list(p)
    for folder in visible:
        if (
            folder.is_automount
            and folder.id not in named
            and folder.ownership_type == Ownership.USER
            and folder.user_id == p.user_id
        ):
            try:
                access.check_folder_action(p, access.MOUNT, folder.view())
            except BaiError:
                continue  # an automount folder that cannot be mounted now is left out
            planned.append(PlannedMount(folder, HOME / folder.name, folder.read_only))
            taken.add(HOME / folder.name)
    local = HOME / ".local"
    for folder in visible:
        # A project's `.local`: each member gets a subdirectory of it at ~/.local, unless
        # they have a `.local` of their own (that one wins) or the project has none usable.
        if (
            folder.name == ".local"
            and folder.ownership_type == Ownership.GROUP
            and folder.id not in named
            and local not in taken
        ):
            try:
                access.check_folder_action(p, access.MOUNT, folder.view())
                access.check_folder_action(p, access.MKDIR, folder.view())
            except BaiError:
                continue
            planned.append(PlannedMount(folder, local, False, subdir=p.user_id.hex))
            taken.add(local)
    if pipeline is not None:
        if pipeline.id in named:
            raise InvalidRequest(
                f"folder {pipeline.name!r} is the pipeline folder; it is mounted at /pipeline"
            )
        access.check_folder_action(p, access.MOUNT, pipeline.view())
        planned.append(PlannedMount(pipeline, PIPELINE, pipeline.read_only))
    check_targets((m.folder.name, m.target) for m in planned)
    for m in planned:
        _check_against_image(m, rootfs)
    return planned


def _check_against_image(m: PlannedMount, rootfs: Path) -> None:
    """A folder outside /home/work needs a new top-level directory: the image is read-only,
    so no mount point can be made inside its own directories."""
    if m.target.is_relative_to(HOME):
        return
    top = m.target.parts[1]
    if (rootfs / top).exists() or (rootfs / top).is_symlink():
        raise InvalidRequest(
            f"mount path {m.target} for {m.folder.name!r} is inside the image's /{top}; "
            "choose a path under /home/work or a new top-level directory such as /data"
        )


def check_dotfiles(dotfiles: Iterable[DotfileEntry], mounts: Iterable[PlannedMount]) -> None:
    """A dotfile may not land on or inside a mounted folder, nor above one."""
    targets = [(m.folder.name, m.target) for m in mounts]
    for f in dotfiles:
        path = HOME / f.path
        for name, target in targets:
            if path == target or path.is_relative_to(target) or target.is_relative_to(path):
                raise InvalidRequest(
                    f"dotfile {f.path!r} collides with folder {name!r} mounted at {target}; "
                    "rename the dotfile or mount the folder elsewhere"
                )


async def pipeline_folder(folders: FolderService, p: Principal, name: str) -> VFolder:
    """The pipeline folder `name`: reused when it exists (it must be a `data` folder),
    created with usage mode `data` otherwise."""
    for f in await folders.list(p):
        if f.name == name and not f.status.is_deleted:
            if f.usage_mode != UsageMode.DATA:
                raise InvalidRequest(
                    f"folder {name!r} exists and is not a pipeline (data) folder; "
                    "choose another --pipeline name"
                )
            return f
    return await folders.create(p, name=name, usage_mode=UsageMode.DATA)
