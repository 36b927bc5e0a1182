"""Provides the admin API (our addition): users, projects, keypairs, resource policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from bai.server.deps import Caller, Services
from bai.sizes import parse_size


@dataclass
class NewUser:
    email: str
    username: str | None = None
    full_name: str = ""
    role: str = "user"
    resource_policy: str = "default"
    keypair_policy: str = "default"
    keypair: bool = True


@dataclass
class UserChanges:
    full_name: str | None = None
    username: str | None = None
    role: str | None = None
    status: str | None = None
    resource_policy: str | None = None


@dataclass
class NewProject:
    name: FromPath[str]
    description: str = ""
    resource_policy: str = "default"


@dataclass
class Members:
    emails: list[str]


@dataclass
class NewKeypair:
    email: str
    resource_policy: str = "default"


@dataclass
class PolicyChanges:
    max_vfolder_count: int | None = None
    # A number of bytes, or a string such as "10g".
    max_quota_scope_size: int | str | None = None
    allowed_vfolder_hosts: dict[str, list[str]] | None = None
    max_concurrent_sftp_sessions: int | None = None


class AdminController(Controller):
    path = "/admin"
    tags = ("admin",)  # type: ignore[assignment]

    # ---- users
    @get("/users", operation_id="listUsers")
    async def list_users(self, principal: Caller, services: Services) -> dict[str, Any]:
        users = await services.accounts.list_users(principal)
        return {"users": [u.to_dict() for u in users]}

    @post("/users", operation_id="createUser")
    async def create_user(
        self, principal: Caller, services: Services, data: JSONBody[NewUser]
    ) -> dict[str, Any]:
        user, kp = await services.accounts.create_user(
            principal,
            email=data.email,
            username=data.username,
            full_name=data.full_name,
            role=data.role,
            resource_policy=data.resource_policy,
            keypair_policy=data.keypair_policy,
            with_keypair=data.keypair,
        )
        keypair = {"access_key": kp.access_key, "secret_key": kp.secret_key} if kp else None
        return {"user": user.to_dict(), "keypair": keypair}

    @patch("/users/{ident:str}", operation_id="updateUser")
    async def update_user(
        self,
        principal: Caller,
        services: Services,
        ident: FromPath[str],
        data: JSONBody[UserChanges],
    ) -> dict[str, Any]:
        user = await services.accounts.update_user(
            principal,
            ident,
            full_name=data.full_name,
            username=data.username,
            role=data.role,
            status=data.status,
            resource_policy=data.resource_policy,
        )
        return {"user": user.to_dict()}

    @post("/users/{ident:str}/deactivate", operation_id="deactivateUser")
    async def deactivate_user(
        self, principal: Caller, services: Services, ident: FromPath[str]
    ) -> dict[str, Any]:
        user = await services.accounts.update_user(principal, ident, status="inactive")
        return {"user": user.to_dict()}

    # ---- projects
    @get("/projects", operation_id="listProjects")
    async def list_projects(self, principal: Caller, services: Services) -> dict[str, Any]:
        projects = await services.accounts.list_projects(principal)
        return {"projects": [p.to_dict() for p in projects]}

    @post("/projects", operation_id="createProject")
    async def create_project(
        self, principal: Caller, services: Services, data: JSONBody[NewProject]
    ) -> dict[str, Any]:
        project = await services.accounts.create_project(
            principal, data.name, data.description, data.resource_policy
        )
        return {"project": project.to_dict()}

    @post("/projects/{name:str}/add-members", operation_id="addProjectMembers")
    async def add_members(
        self, principal: Caller, services: Services, name: FromPath[str], data: JSONBody[Members]
    ) -> dict[str, Any]:
        project = await services.accounts.add_member(principal, name, data.emails)
        return {"project": project.to_dict()}

    @post("/projects/{name:str}/remove-members", operation_id="removeProjectMembers")
    async def remove_members(
        self, principal: Caller, services: Services, name: FromPath[str], data: JSONBody[Members]
    ) -> dict[str, Any]:
        project = await services.accounts.remove_member(principal, name, data.emails)
        return {"project": project.to_dict()}

    # ---- keypairs
    @get("/keypairs", operation_id="listKeypairs")
    async def list_keypairs(
        self, principal: Caller, services: Services, email: FromQuery[str | None] = None
    ) -> dict[str, Any]:
        kps = await services.accounts.list_keypairs(principal, email)
        return {"keypairs": [k.to_dict() for k in kps]}

    @post("/keypairs", operation_id="createKeypair")
    async def create_keypair(
        self, principal: Caller, services: Services, data: JSONBody[NewKeypair]
    ) -> dict[str, Any]:
        kp = await services.accounts.create_keypair(principal, data.email, data.resource_policy)
        return {"access_key": kp.access_key, "secret_key": kp.secret_key, "user": kp.user_email}

    @post("/keypairs/{access_key:str}/revoke", operation_id="revokeKeypair")
    async def revoke_keypair(
        self, principal: Caller, services: Services, access_key: FromPath[str]
    ) -> dict[str, Any]:
        kp = await services.accounts.revoke_keypair(principal, access_key)
        return {"keypair": kp.to_dict()}

    # ---- resource policies
    @get("/resource-policies", operation_id="listResourcePolicies")
    async def list_policies(
        self, principal: Caller, services: Services, kind: FromQuery[str | None] = None
    ) -> dict[str, Any]:
        policies = await services.accounts.list_policies(principal, kind)
        return {"policies": [p.to_dict() for p in policies]}

    @put("/resource-policies/{kind:str}/{name:str}", operation_id="setResourcePolicy")
    async def set_policy(
        self,
        principal: Caller,
        services: Services,
        kind: FromPath[str],
        name: FromPath[str],
        data: JSONBody[PolicyChanges],
    ) -> dict[str, Any]:
        size = data.max_quota_scope_size
        policy = await services.accounts.set_policy(
            principal,
            kind,
            name,
            max_vfolder_count=data.max_vfolder_count,
            max_quota_scope_size=None if size is None else parse_size(size),
            allowed_vfolder_hosts=data.allowed_vfolder_hosts,
            max_concurrent_sftp_sessions=data.max_concurrent_sftp_sessions,
        )
        return {"policy": policy.to_dict()}
