"""Provides `client.admin`: users, projects, keypairs, resource policies and nodes (bai's
API)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from bai import api
from bai.client.paths import segment

if TYPE_CHECKING:
    from bai.client.session import BaiClient


class UsersApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def list(self) -> builtins.list[api.UserInfo]:
        return (await self._c.call("GET", "/admin/users", api.UserList)).users

    async def create(
        self,
        email: str,
        *,
        username: str | None = None,
        full_name: str = "",
        role: str = "user",
        resource_policy: str = "default",
        keypair_policy: str = "default",
        keypair: bool = True,
    ) -> api.UserCreated:
        """A user and (unless `keypair` is False) a first keypair, whose secret key is in
        this answer only."""
        body = api.UserCreate(
            email=email,
            username=username,
            full_name=full_name,
            role=role,
            resource_policy=resource_policy,
            keypair_policy=keypair_policy,
            keypair=keypair,
        )
        return await self._c.call("POST", "/admin/users", api.UserCreated, body=body)

    async def update(
        self,
        ident: str,
        *,
        full_name: str | None = None,
        username: str | None = None,
        role: str | None = None,
        status: str | None = None,
        resource_policy: str | None = None,
    ) -> api.UserInfo:
        """Change the given fields of a user (by e-mail or id)."""
        body = api.UserUpdate(
            full_name=full_name,
            username=username,
            role=role,
            status=status,
            resource_policy=resource_policy,
        )
        path = f"/admin/users/{segment(ident)}"
        return (await self._c.call("PATCH", path, api.UserResult, body=body)).user

    async def deactivate(self, ident: str) -> api.UserInfo:
        """Every keypair of the user stops working."""
        path = f"/admin/users/{segment(ident)}/deactivate"
        return (await self._c.call("POST", path, api.UserResult)).user


class ProjectsApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def list(self) -> builtins.list[api.ProjectInfo]:
        """All projects for admins; one's own projects for everyone else."""
        return (await self._c.call("GET", "/admin/projects", api.ProjectList)).projects

    async def create(
        self, name: str, *, description: str = "", resource_policy: str = "default"
    ) -> api.ProjectInfo:
        body = api.ProjectCreate(
            name=name, description=description, resource_policy=resource_policy
        )
        return (await self._c.call("POST", "/admin/projects", api.ProjectResult, body=body)).project

    async def add_members(self, name: str, emails: builtins.list[str]) -> api.ProjectInfo:
        return await self._members(name, "add-members", emails)

    async def remove_members(self, name: str, emails: builtins.list[str]) -> api.ProjectInfo:
        return await self._members(name, "remove-members", emails)

    async def _members(self, name: str, verb: str, emails: builtins.list[str]) -> api.ProjectInfo:
        body = api.ProjectMembers(emails=emails)
        path = f"/admin/projects/{segment(name)}/{verb}"
        return (await self._c.call("POST", path, api.ProjectResult, body=body)).project


class KeypairsApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def list(self, *, email: str | None = None) -> builtins.list[api.KeypairInfo]:
        """Keypairs (never their secrets); `email` narrows them to one user's."""
        res = await self._c.call("GET", "/admin/keypairs", api.KeypairList, params={"email": email})
        return res.keypairs

    async def create(self, email: str, *, resource_policy: str = "default") -> api.IssuedKeypair:
        """A new keypair for a user; its secret key is in this answer only."""
        body = api.KeypairCreate(email=email, resource_policy=resource_policy)
        return await self._c.call("POST", "/admin/keypairs", api.IssuedKeypair, body=body)

    async def revoke(self, access_key: str) -> api.KeypairInfo:
        path = f"/admin/keypairs/{segment(access_key)}/revoke"
        return (await self._c.call("POST", path, api.KeypairResult)).keypair


class PoliciesApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def list(self, *, kind: str | None = None) -> builtins.list[api.ResourcePolicy]:
        """Resource policies; `kind` (user, project, keypair) narrows them."""
        res = await self._c.call(
            "GET", "/admin/resource-policies", api.PolicyList, params={"kind": kind}
        )
        return res.policies

    async def get(self, kind: str, name: str) -> api.ResourcePolicy | None:
        return next((p for p in await self.list(kind=kind) if p.name == name), None)

    async def set(self, kind: str, name: str, changes: api.PolicyUpdate) -> api.ResourcePolicy:
        """Create a policy, or change the settings `changes` gives (the others stay)."""
        path = f"/admin/resource-policies/{segment(kind)}/{segment(name)}"
        return (await self._c.call("PUT", path, api.PolicyResult, body=changes)).policy


class NodesApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def list(self) -> builtins.list[api.NodeInfo]:
        """The nodes sharing this node's database (admins)."""
        return (await self._c.call("GET", "/admin/nodes", api.NodeList)).nodes


class AdminApi:
    """`client.admin.users`, `.projects`, `.keypairs`, `.policies`, `.nodes`."""

    def __init__(self, client: BaiClient) -> None:
        self.users = UsersApi(client)
        self.projects = ProjectsApi(client)
        self.keypairs = KeypairsApi(client)
        self.policies = PoliciesApi(client)
        self.nodes = NodesApi(client)
