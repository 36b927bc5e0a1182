"""Provides the environment of a session's processes, as Backend.AI's agent sets it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from bai.config import ImageConfig
from bai.errors import InvalidRequest
from bai.sessions.planning import PlannedMount

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def session_environ(
    session_id: uuid.UUID,
    name: str,
    image: ImageConfig,
    mounts: Iterable[PlannedMount],
    requested: dict[str, str],
) -> dict[str, str]:
    """Base variables, the image's, then the request's; `BACKENDAI_*` stay the node's."""
    for key, value in requested.items():
        if not _NAME_RE.match(key):
            raise InvalidRequest(f"environment variable name {key!r} is not valid")
        if key.startswith("BACKENDAI_"):
            raise InvalidRequest(f"environment variable {key!r} is set by the node itself")
        if "\0" in value:
            raise InvalidRequest(f"environment variable {key!r} holds a NUL character")
    env = {
        "HOME": "/home/work",
        "USER": "work",
        "LOGNAME": "work",
        "SHELL": "/bin/sh",
        "PATH": PATH,
        "LANG": "C.UTF-8",
        "TERM": "xterm",
        **image.environ,
        **requested,
    }
    env.update(
        {
            "BACKENDAI_SESSION_ID": str(session_id),
            "BACKENDAI_SESSION_NAME": name,
            "BACKENDAI_KERNEL_ID": str(session_id),
            "BACKENDAI_KERNEL_IMAGE": image.name,
            "BACKENDAI_CLUSTER_SIZE": "1",
            "BACKENDAI_CLUSTER_ROLE": "main",
            "BACKENDAI_CLUSTER_IDX": "1",
            "BACKENDAI_CLUSTER_LOCAL_RANK": "0",
            "BACKENDAI_CLUSTER_HOST": "main1",
        }
    )
    persistent = ":".join(str(m.target) for m in mounts)
    if persistent:
        env["BACKENDAI_PERSISTENT_PATHS"] = persistent
    return env
