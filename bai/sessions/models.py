"""Provides the compute-session records: states, mounts, and what a sandbox is made of."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath

from bai.config import ImageConfig


class SessionState(StrEnum):
    PREPARING = "preparing"
    RUNNING = "running"
    TERMINATED = "terminated"
    ERROR = "error"

    @property
    def backend_ai(self) -> str:
        """Backend.AI's spelling (`RUNNING`, `TERMINATED`, …)."""
        return self.value.upper()


LIVE = frozenset({SessionState.PREPARING, SessionState.RUNNING})


@dataclass(frozen=True)
class Limits:
    """What the sandbox may use; None: no limit of that kind."""

    cpu: float | None = None  # cores
    memory: int | None = None  # bytes
    pids: int | None = None

    @property
    def any(self) -> bool:
        return any(x is not None for x in (self.cpu, self.memory, self.pids))


@dataclass(frozen=True)
class BoundMount:
    """A host directory bound into the sandbox (from `Volume.acquire_mount`)."""

    source: Path
    target: PurePosixPath
    read_only: bool


@dataclass(frozen=True)
class DotfileEntry:
    path: str  # relative to /home/work
    permission: int  # file mode, applied to the file and the directories made for it
    data: str


@dataclass(frozen=True)
class SandboxSpec:
    """Everything the runner needs to build and run one session's sandbox."""

    session_id: uuid.UUID
    scratch: Path  # this session's directory on the host; /home/work is `scratch / "work"`
    image: ImageConfig
    mounts: tuple[BoundMount, ...]
    dotfiles: tuple[DotfileEntry, ...]
    environ: dict[str, str]
    limits: Limits
    network: bool
    # Host paths the sandbox must never see even when the image root is `/`: the node's data
    # directory and every volume.
    hidden: tuple[Path, ...] = ()

    @property
    def home(self) -> Path:
        return self.scratch / "work"


@dataclass(frozen=True)
class SessionMount:
    folder_id: uuid.UUID
    folder_name: str
    target: str
    read_only: bool


@dataclass(frozen=True)
class ComputeSession:
    id: uuid.UUID
    name: str
    access_key: str
    user_id: uuid.UUID
    image: str
    state: SessionState
    status_info: str | None
    environ: dict[str, str]
    created_at: datetime
    terminated_at: datetime | None
    mounts: tuple[SessionMount, ...] = field(default=())
