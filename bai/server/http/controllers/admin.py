"""Provides the admin API (our addition): users, projects, keypairs, resource policies, and
the nodes sharing the database."""

from __future__ import annotations

from litestar import Controller, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from bai import api
from bai.server.http import wire
from bai.server.http.deps import Caller, Services
from bai.sizes import parse_size


class AdminController(Controller):
    path = "/admin"
    tags = ("admin",)  # type: ignore[assignment]

    # ---- users
    @get("/users", operation_id="listUsers")
    async def list_users(self, principal: Caller, services: Services) -> api.UserList:
        users = await services.accounts.list_users(principal)
        return api.UserList(users=[wire.user_info(u) for u in users])

    @post("/users", operation_id="createUser")
    async def create_user(
        self, principal: Caller, services: Services, data: JSONBody[api.UserCreate]
    ) -> api.UserCreated:
        """Create a user and, unless `keypair` is false, a first keypair (its secret is in
        this answer only)."""
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
        return api.UserCreated(
            user=wire.user_info(user), keypair=wire.keypair_secret(kp) if kp else None
        )

    @patch("/users/{ident:str}", operation_id="updateUser")
    async def update_user(
        self,
        principal: Caller,
        services: Services,
        ident: FromPath[str],
        data: JSONBody[api.UserUpdate],
    ) -> api.UserResult:
        """Change the given fields of a user (by e-mail or id)."""
        user = await services.accounts.update_user(
            principal,
            ident,
            full_name=data.full_name,
            username=data.username,
            role=data.role,
            status=data.status,
            resource_policy=data.resource_policy,
        )
        return api.UserResult(user=wire.user_info(user))

    @post("/users/{ident:str}/deactivate", operation_id="deactivateUser")
    async def deactivate_user(
        self, principal: Caller, services: Services, ident: FromPath[str]
    ) -> api.UserResult:
        user = await services.accounts.update_user(principal, ident, status="inactive")
        return api.UserResult(user=wire.user_info(user))

    # ---- projects
    @get("/projects", operation_id="listProjects")
    async def list_projects(self, principal: Caller, services: Services) -> api.ProjectList:
        """All projects for admins; one's own projects for everyone else."""
        projects = await services.accounts.list_projects(principal)
        return api.ProjectList(projects=[wire.project_info(p) for p in projects])

    @post("/projects", operation_id="createProject")
    async def create_project(
        self, principal: Caller, services: Services, data: JSONBody[api.ProjectCreate]
    ) -> api.ProjectResult:
        project = await services.accounts.create_project(
            principal, data.name, data.description, data.resource_policy
        )
        return api.ProjectResult(project=wire.project_info(project))

    @post("/projects/{name:str}/add-members", operation_id="addProjectMembers")
    async def add_members(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.ProjectMembers],
    ) -> api.ProjectResult:
        project = await services.accounts.add_member(principal, name, data.emails)
        return api.ProjectResult(project=wire.project_info(project))

    @post("/projects/{name:str}/remove-members", operation_id="removeProjectMembers")
    async def remove_members(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[api.ProjectMembers],
    ) -> api.ProjectResult:
        project = await services.accounts.remove_member(principal, name, data.emails)
        return api.ProjectResult(project=wire.project_info(project))

    # ---- keypairs
    @get("/keypairs", operation_id="listKeypairs")
    async def list_keypairs(
        self, principal: Caller, services: Services, email: FromQuery[str | None] = None
    ) -> api.KeypairList:
        """Keypairs (never their secrets): everyone's for admins, one's own otherwise."""
        kps = await services.accounts.list_keypairs(principal, email)
        return api.KeypairList(keypairs=[wire.keypair_info(k) for k in kps])

    @post("/keypairs", operation_id="createKeypair")
    async def create_keypair(
        self, principal: Caller, services: Services, data: JSONBody[api.KeypairCreate]
    ) -> api.IssuedKeypair:
        """Issue a keypair; its secret key is in this answer only."""
        kp = await services.accounts.create_keypair(principal, data.email, data.resource_policy)
        return wire.issued_keypair(kp)

    @post("/keypairs/{access_key:str}/revoke", operation_id="revokeKeypair")
    async def revoke_keypair(
        self, principal: Caller, services: Services, access_key: FromPath[str]
    ) -> api.KeypairResult:
        kp = await services.accounts.revoke_keypair(principal, access_key)
        return api.KeypairResult(keypair=wire.keypair_info(kp))

    # ---- resource policies
    @get("/resource-policies", operation_id="listResourcePolicies")
    async def list_policies(
        self, principal: Caller, services: Services, kind: FromQuery[str | None] = None
    ) -> api.PolicyList:
        policies = await services.accounts.list_policies(principal, kind)
        return api.PolicyList(policies=[wire.resource_policy(p) for p in policies])

    @put("/resource-policies/{kind:str}/{name:str}", operation_id="setResourcePolicy")
    async def set_policy(
        self,
        principal: Caller,
        services: Services,
        kind: FromPath[str],
        name: FromPath[str],
        data: JSONBody[api.PolicyUpdate],
    ) -> api.PolicyResult:
        """Create a policy, or change the given settings of one (the others stay)."""
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
        return api.PolicyResult(policy=wire.resource_policy(policy))

    # ---- nodes
    @get("/nodes", operation_id="listNodes")
    async def list_nodes(self, principal: Caller, services: Services) -> api.NodeList:
        """Every node that used this database, with its state (up, down or stopped)."""
        nodes = await services.registry.list(principal)
        return api.NodeList(
            nodes=[
                api.NodeInfo(
                    id=n.id,
                    name=n.name,
                    url=n.url,
                    version=n.version,
                    volumes=[
                        api.NodeVolume(
                            name=str(v.get("name")),
                            backend=str(v.get("backend")),
                            shared=bool(v.get("shared")),
                        )
                        for v in n.volumes
                    ],
                    state=n.state,
                    started_at=n.started_at.isoformat(),
                    heartbeat_at=n.heartbeat_at.isoformat(),
                    this_node=n.id == services.node_id,
                )
                for n in nodes
            ]
        )
