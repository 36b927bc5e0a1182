"""Provides the GraphQL shapes the official client's session commands send.

`backend.ai session list` (`ps`) asks `compute_session_list(…) { items { … } total_count }`,
`backend.ai session info` asks `compute_session(id: $id) { … containers { … } … }`, and both
ask `keypair { … is_admin }` first. This module reads the root and its top-level fields
(skipping nested selections such as `containers { … }`) and answers each field of a session.
"""

from __future__ import annotations

import re
from typing import Any

from bai.errors import InvalidRequest
from bai.sessions.models import ComputeSession

SESSION_ROOTS = ("compute_session_list", "compute_session", "keypair")
_ROOT_RE = re.compile(r"\{\s*(\w+)\s*(?:\([^)]*\))?\s*\{", re.S)
_WORD_RE = re.compile(r"\w+|[{}]")


class GqlError(InvalidRequest):
    """A query this node cannot answer; sent back in the GraphQL `errors` array."""


def parse(query: str) -> tuple[str, list[str]]:
    """The root field and its top-level fields (those of `items` for a list)."""
    m = _ROOT_RE.search(query)
    if not m:
        raise GqlError("could not read the query: expected `query(…) { root(…) { … } }`")
    root = m.group(1)
    tokens = _WORD_RE.findall(query[m.end() :])
    fields = _top_level(tokens)
    if "items" in fields and root.endswith("_list"):
        start = tokens.index("items")
        fields = _top_level(tokens[start + 2 :])
    return root, fields


def _top_level(tokens: list[str]) -> list[str]:
    out: list[str] = []
    depth = 0
    for tok in tokens:
        if tok == "{":
            depth += 1
        elif tok == "}":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0:
            out.append(tok)
    return out


def statuses(text: str | None) -> set[str] | None:
    """`status: "RUNNING,ERROR"` as Backend.AI's words, lower-cased to bai's states."""
    if not text:
        return None
    return {s.strip().lower() for s in text.split(",") if s.strip()}


def session_field(s: ComputeSession, name: str, email: str) -> Any:
    values: dict[str, Any] = {
        "id": str(s.id),
        "session_id": str(s.id),
        "main_kernel_id": str(s.id),
        "name": s.name,
        "tag": None,
        "type": "INTERACTIVE",
        "image": s.image,
        "registry": None,
        "architecture": "x86_64",
        "cluster_template": None,
        "cluster_mode": "single-node",
        "cluster_size": 1,
        "domain_name": None,
        "group_name": None,
        "group_id": None,
        "agent_ids": ["local"],
        "user_email": email,
        "user_id": str(s.user_id),
        "access_key": s.access_key,
        "created_user_email": email,
        "created_user_id": str(s.user_id),
        "status": s.state.backend_ai,
        "status_info": s.status_info,
        "status_data": "{}",  # the client decodes these three again: JSON strings
        "status_changed": (s.terminated_at or s.created_at).isoformat(),
        "created_at": s.created_at.isoformat(),
        "terminated_at": s.terminated_at.isoformat() if s.terminated_at else None,
        "starts_at": None,
        "scheduled_at": s.created_at.isoformat(),
        "startup_command": None,
        "result": "UNDEFINED",
        "resource_opts": "{}",
        "scaling_group": "default",
        "service_ports": "[]",
        "mounts": [m.folder_name for m in s.mounts],
        "occupying_slots": "{}",
        "containers": [],
        "dependencies": [],
        "abusing_reports": [],
        "idle_checks": "{}",
    }
    if name not in values:
        raise GqlError(f'Cannot query field "{name}" on type "ComputeSession".')
    return values[name]
