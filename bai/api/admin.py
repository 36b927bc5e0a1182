"""Provides the admin bodies (bai's addition): users, projects, keypairs, resource policies.

List and change answers wrap their records (`{"users": […]}`, `{"user": …}`) so a later
field (paging, warnings) can join them without breaking a client.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from bai.api.base import WireRequest, WireResponse, choice
from bai.enums import HostPermission, Role

USER_STATUSES = ("active", "inactive")
POLICY_KINDS = ("user", "project", "keypair")

# ---- users -----------------------------------------------------------------------------------


class UserCreate(WireRequest):
    email: str
    username: str | None = None  # the e-mail address when not given
    full_name: str = ""
    role: Annotated[str, choice(Role)] = Role.USER.value
    resource_policy: str = "default"
    keypair_policy: str = "default"  # the policy of the first keypair
    keypair: bool = True  # issue a first keypair


class UserUpdate(WireRequest):
    full_name: str | None = None
    username: str | None = None
    role: Annotated[str, choice(Role)] | None = None
    status: str | None = None  # active or inactive
    resource_policy: str | None = None


class UserInfo(WireResponse):
    id: uuid.UUID
    email: str
    username: str
    full_name: str
    role: Role
    status: str  # active or inactive
    domain_name: str
    resource_policy: str
    created_at: str | None
    projects: list[str]  # names of the projects the user is a member of


class KeypairSecret(WireResponse):
    """A keypair with its secret key: only in the answer that created it."""

    access_key: str
    secret_key: str


class UserCreated(WireResponse):
    user: UserInfo
    keypair: KeypairSecret | None


class UserResult(WireResponse):
    user: UserInfo


class UserList(WireResponse):
    users: list[UserInfo]


# ---- projects --------------------------------------------------------------------------------


class ProjectCreate(WireRequest):
    name: str
    description: str = ""
    resource_policy: str = "default"


class ProjectMembers(WireRequest):
    emails: list[str]


class ProjectInfo(WireResponse):
    id: uuid.UUID
    name: str
    description: str
    domain_name: str
    is_active: bool
    resource_policy: str
    created_at: str | None
    members: list[str]  # e-mail addresses


class ProjectResult(WireResponse):
    project: ProjectInfo


class ProjectList(WireResponse):
    projects: list[ProjectInfo]


# ---- keypairs --------------------------------------------------------------------------------


class KeypairCreate(WireRequest):
    email: str
    resource_policy: str = "default"


class IssuedKeypair(KeypairSecret, kw_only=True):
    """`POST /admin/keypairs`: the new keypair, its secret and its user's e-mail."""

    user: str


class KeypairInfo(WireResponse):
    """A keypair as listed: never its secret."""

    access_key: str
    user: str  # e-mail address
    is_active: bool
    resource_policy: str
    created_at: str | None
    last_used: str | None


class KeypairResult(WireResponse):
    keypair: KeypairInfo


class KeypairList(WireResponse):
    keypairs: list[KeypairInfo]


# ---- resource policies -----------------------------------------------------------------------

HostGrants = dict[str, list[Annotated[str, choice(HostPermission)]]]


class PolicyUpdate(WireRequest):
    """Only the given settings change. user/project: the first two; keypair: the last two."""

    max_vfolder_count: int | None = None  # 0 = unlimited
    max_quota_scope_size: int | str | None = None  # bytes, or a size such as "10g"
    allowed_vfolder_hosts: HostGrants | None = None
    max_concurrent_sftp_sessions: int | None = None


class ResourcePolicy(WireResponse, kw_only=True, omit_defaults=True):
    """A user or project policy carries the first two settings, a keypair policy the last two
    (the other keys are absent, not null)."""

    kind: str  # user, project or keypair
    name: str
    max_vfolder_count: int | None = None
    max_quota_scope_size: int | None = None
    allowed_vfolder_hosts: dict[str, list[str]] | None = None
    max_concurrent_sftp_sessions: int | None = None


class PolicyResult(WireResponse):
    policy: ResourcePolicy


class PolicyList(WireResponse):
    policies: list[ResourcePolicy]


# ---- nodes sharing one database -------------------------------------------------------------


class NodeVolume(WireResponse):
    name: str
    backend: str
    shared: bool  # every node declaring it sees the same bytes


class NodeInfo(WireResponse):
    id: str
    name: str
    url: str  # where clients reach it (transfers of its local volumes go there)
    version: str
    volumes: list[NodeVolume]
    state: str  # up, down (stopped heartbeating) or stopped (shut down cleanly)
    started_at: str
    heartbeat_at: str
    this_node: bool  # the node that answered


class NodeList(WireResponse):
    nodes: list[NodeInfo]
