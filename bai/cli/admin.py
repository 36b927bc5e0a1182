"""Provides `bai admin …`: users, projects, keypairs and resource policies over the HTTP API."""

from __future__ import annotations

from typing import Any

import click

from bai.access import HOST_PERMISSIONS
from bai.cli.context import call, command
from bai.cli.output import console, emit, emit_one, output_option
from bai.client import BaiClient
from bai.errors import InvalidRequest, NotFound
from bai.sizes import format_size, parse_size

USER_COLUMNS = [
    ("email", "Email"),
    ("username", "Username"),
    ("role", "Role"),
    ("status", "Status"),
    ("resource_policy", "Policy"),
    ("projects", "Projects"),
    ("id", "ID"),
]
PROJECT_COLUMNS = [
    ("name", "Name"),
    ("description", "Description"),
    ("members", "Members"),
    ("resource_policy", "Policy"),
    ("id", "ID"),
]
KEYPAIR_COLUMNS = [
    ("access_key", "Access key"),
    ("user", "User"),
    ("is_active", "Active"),
    ("resource_policy", "Policy"),
    ("created_at", "Created"),
    ("last_used", "Last used"),
]
POLICY_COLUMNS = [
    ("kind", "Kind"),
    ("name", "Name"),
    ("max_vfolder_count", "Max folders"),
    ("max_quota_scope_size", "Max quota scope size"),
    ("allowed_vfolder_hosts", "Allowed hosts"),
    ("max_concurrent_sftp_sessions", "Max SFTP sessions"),
]


@click.group()
def admin() -> None:
    """Administer the node: users, projects, keypairs, resource policies."""


def _show_secret(kp: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_one(kp, fmt)
        return
    console.print(f"Access key: {kp['access_key']}")
    console.print(f"Secret key: {kp['secret_key']}")
    console.print("[yellow]The secret key is shown only now; store it safely.[/]")


# ---- users -----------------------------------------------------------------------------------


@admin.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("email")
@click.option("--username", help="Login name [default: the e-mail address].")
@click.option("--full-name", default="")
@click.option(
    "--role", type=click.Choice(["user", "admin", "superadmin"]), default="user", show_default=True
)
@click.option(
    "--resource-policy",
    default="default",
    show_default=True,
    help="User resource policy (folder count, quota scope size).",
)
@click.option(
    "--keypair-policy",
    default="default",
    show_default=True,
    help="Keypair resource policy of the first keypair.",
)
@click.option("--no-keypair", is_flag=True, help="Create no keypair for the user.")
@output_option
@command
async def user_create(
    email: str,
    username: str | None,
    full_name: str,
    role: str,
    resource_policy: str,
    keypair_policy: str,
    no_keypair: bool,
    fmt: str,
) -> None:
    """Create a user (and a keypair, whose secret is printed once)."""
    body = {
        "email": email,
        "username": username,
        "full_name": full_name,
        "role": role,
        "resource_policy": resource_policy,
        "keypair_policy": keypair_policy,
        "keypair": not no_keypair,
    }
    res = await call(lambda c: c.post("/admin/users", json=body))
    if fmt == "json":
        emit_one(res, fmt)
        return
    console.print(f"User {res['user']['email']} created ({res['user']['id']}).")
    if res.get("keypair"):
        _show_secret(res["keypair"], fmt)


@user.command("list")
@output_option
@command
async def user_list(fmt: str) -> None:
    """List users."""
    res = await call(lambda c: c.get("/admin/users"))
    emit(res["users"], USER_COLUMNS, fmt, key="users")


@user.command("update")
@click.argument("ident", metavar="EMAIL_OR_ID")
@click.option("--full-name")
@click.option("--username")
@click.option("--role", type=click.Choice(["user", "admin", "superadmin"]))
@click.option("--status", type=click.Choice(["active", "inactive"]))
@click.option("--resource-policy")
@output_option
@command
async def user_update(
    ident: str,
    full_name: str | None,
    username: str | None,
    role: str | None,
    status: str | None,
    resource_policy: str | None,
    fmt: str,
) -> None:
    """Change a user's name, role, status or resource policy."""
    body = {
        "full_name": full_name,
        "username": username,
        "role": role,
        "status": status,
        "resource_policy": resource_policy,
    }
    res = await call(lambda c: c.request("PATCH", f"/admin/users/{ident}", json=body))
    emit_one(res["user"], fmt)


@user.command("deactivate")
@click.argument("ident", metavar="EMAIL_OR_ID")
@output_option
@command
async def user_deactivate(ident: str, fmt: str) -> None:
    """Deactivate a user: every keypair of theirs stops working."""
    res = await call(lambda c: c.post(f"/admin/users/{ident}/deactivate"))
    emit_one(res["user"], fmt)


# ---- projects --------------------------------------------------------------------------------


@admin.group()
def project() -> None:
    """Manage projects and their members."""


@project.command("create")
@click.argument("name")
@click.option("--description", default="")
@click.option("--resource-policy", default="default", show_default=True)
@output_option
@command
async def project_create(name: str, description: str, resource_policy: str, fmt: str) -> None:
    """Create a project."""
    body = {"name": name, "description": description, "resource_policy": resource_policy}
    res = await call(lambda c: c.post("/admin/projects", json=body))
    emit_one(res["project"], fmt)


@project.command("list")
@output_option
@command
async def project_list(fmt: str) -> None:
    """List projects (members see their own projects)."""
    res = await call(lambda c: c.get("/admin/projects"))
    emit(res["projects"], PROJECT_COLUMNS, fmt, key="projects")


@project.command("add-member")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@output_option
@command
async def project_add_member(name: str, emails: tuple[str, ...], fmt: str) -> None:
    """Add users to a project."""
    res = await call(
        lambda c: c.post(f"/admin/projects/{name}/add-members", json={"emails": list(emails)})
    )
    emit_one(res["project"], fmt)


@project.command("remove-member")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@output_option
@command
async def project_remove_member(name: str, emails: tuple[str, ...], fmt: str) -> None:
    """Remove users from a project."""
    res = await call(
        lambda c: c.post(f"/admin/projects/{name}/remove-members", json={"emails": list(emails)})
    )
    emit_one(res["project"], fmt)


# ---- keypairs --------------------------------------------------------------------------------


@admin.group()
def keypair() -> None:
    """Manage API keypairs."""


@keypair.command("create")
@click.argument("email")
@click.option("--resource-policy", default="default", show_default=True)
@output_option
@command
async def keypair_create(email: str, resource_policy: str, fmt: str) -> None:
    """Issue a keypair for a user; the secret key is printed once."""
    res = await call(
        lambda c: c.post(
            "/admin/keypairs", json={"email": email, "resource_policy": resource_policy}
        )
    )
    _show_secret(res, fmt)


@keypair.command("list")
@click.option("--user", "email", help="Only this user's keypairs.")
@output_option
@command
async def keypair_list(email: str | None, fmt: str) -> None:
    """List keypairs (never their secrets)."""
    res = await call(lambda c: c.get("/admin/keypairs", params={"email": email}))
    emit(res["keypairs"], KEYPAIR_COLUMNS, fmt, key="keypairs")


@keypair.command("revoke")
@click.argument("access_key")
@output_option
@command
async def keypair_revoke(access_key: str, fmt: str) -> None:
    """Revoke a keypair: requests signed with it are refused from now on."""
    res = await call(lambda c: c.post(f"/admin/keypairs/{access_key}/revoke"))
    emit_one(res["keypair"], fmt)


# ---- resource policies -----------------------------------------------------------------------


@admin.group("resource-policy")
def resource_policy() -> None:
    """Manage user, project and keypair resource policies."""


@resource_policy.command("list")
@click.option("--kind", type=click.Choice(["user", "project", "keypair"]))
@output_option
@command
async def policy_list(kind: str | None, fmt: str) -> None:
    """List resource policies."""
    res = await call(lambda c: c.get("/admin/resource-policies", params={"kind": kind}))
    emit(res["policies"], POLICY_COLUMNS, fmt, key="policies")


def parse_host_option(spec: str) -> tuple[str, list[str]]:
    host, sep, perms = spec.partition("=")
    if not sep or not host:
        raise InvalidRequest(
            f"--host {spec!r}: write HOST=PERM,PERM… or HOST=all "
            f"(permissions: {', '.join(HOST_PERMISSIONS)})"
        )
    names = [p.strip() for p in perms.split(",") if p.strip()]
    return host, list(HOST_PERMISSIONS) if names == ["all"] else names


@resource_policy.command("set")
@click.argument("kind", type=click.Choice(["user", "project", "keypair"]))
@click.argument("name")
@click.option(
    "--max-vfolder-count",
    type=click.IntRange(min=0),
    help="user/project: folders one may create (0 = unlimited).",
)
@click.option(
    "--max-quota-scope-size", help="user/project: quota scope size such as 10g (0 = unlimited)."
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="HOST=PERMS",
    help="keypair: grant PERMS (comma-separated, or `all`) on HOST. Repeatable.",
)
@click.option(
    "--remove-host",
    "remove_hosts",
    multiple=True,
    metavar="HOST",
    help="keypair: take HOST away. Repeatable.",
)
@click.option(
    "--max-concurrent-sftp-sessions",
    type=click.IntRange(min=0),
    help="keypair: SFTP sessions at once.",
)
@output_option
@command
async def policy_set(
    kind: str,
    name: str,
    max_vfolder_count: int | None,
    max_quota_scope_size: str | None,
    hosts: tuple[str, ...],
    remove_hosts: tuple[str, ...],
    max_concurrent_sftp_sessions: int | None,
    fmt: str,
) -> None:
    """Create a resource policy or change the given settings of one."""
    body: dict[str, Any] = {
        "max_vfolder_count": max_vfolder_count,
        "max_quota_scope_size": max_quota_scope_size,
        "max_concurrent_sftp_sessions": max_concurrent_sftp_sessions,
    }

    async def run(c: BaiClient) -> Any:
        if hosts or remove_hosts:
            current = await c.get("/admin/resource-policies", params={"kind": kind})
            match = [p for p in current["policies"] if p["name"] == name]
            allowed = dict(match[0]["allowed_vfolder_hosts"]) if match else {}
            for spec in hosts:
                host, perms = parse_host_option(spec)
                allowed[host] = perms
            for host in remove_hosts:
                if allowed.pop(host, None) is None:
                    raise NotFound(f"policy {name!r} does not list host {host!r}")
            body["allowed_vfolder_hosts"] = allowed
        return await c.request(
            "PUT",
            f"/admin/resource-policies/{kind}/{name}",
            json={k: v for k, v in body.items() if v is not None},
        )

    res = await call(run)
    emit_one(res["policy"], fmt)


# ---- quota scopes and usage ------------------------------------------------------------------

SCOPE_COLUMNS = [
    ("host", "Host"),
    ("scope_id", "Scope"),
    ("used_bytes", "Used"),
    ("limit_bytes", "Limit"),
    ("kernel_enforced", "Kernel-enforced"),
]


def _scope_row(res: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        emit_one(res, fmt)
        return
    limit = res["limit_bytes"]
    emit_one(
        {
            "host": res["host"],
            "scope": res["scope_id"],
            "used": format_size(res["used_bytes"]),
            "limit": format_size(limit) if limit else "unlimited",
            "enforced by": "the kernel (btrfs qgroup)"
            if res["kernel_enforced"]
            else "the node (admission of every write it makes)",
        },
        fmt,
    )


@admin.group("quota-scope")
def quota_scope() -> None:
    """Quota scopes: one per user or project on each host."""


@quota_scope.command("get")
@click.argument("host")
@click.argument("ident", metavar="IDENTIFIER")
@output_option
@command
async def scope_get(host: str, ident: str, fmt: str) -> None:
    """Show a scope's usage and limit. IDENTIFIER: e-mail, project name or UUID."""
    _scope_row(await call(lambda c: c.get(f"/admin/quota-scopes/{host}/{ident}")), fmt)


@quota_scope.command("set")
@click.argument("host")
@click.argument("ident", metavar="IDENTIFIER")
@click.argument("limit")
@output_option
@command
async def scope_set(host: str, ident: str, limit: str, fmt: str) -> None:
    """Set a scope's limit, such as 10g or 512m (0 = unlimited)."""
    parse_size(limit)  # a clear local error before any request
    _scope_row(
        await call(
            lambda c: c.request("PUT", f"/admin/quota-scopes/{host}/{ident}", json={"limit": limit})
        ),
        fmt,
    )


@quota_scope.command("unset")
@click.argument("host")
@click.argument("ident", metavar="IDENTIFIER")
@output_option
@command
async def scope_unset(host: str, ident: str, fmt: str) -> None:
    """Remove a scope's limit."""
    _scope_row(
        await call(lambda c: c.request("DELETE", f"/admin/quota-scopes/{host}/{ident}")), fmt
    )


@admin.command("reconcile")
@click.option("--folder", help="Only this folder (name or id).")
@click.option("--host", help="Only folders on this host.")
@output_option
@command
async def reconcile(folder: str | None, host: str | None, fmt: str) -> None:
    """Walk folders and correct their recorded usage to what is on disk."""
    res = await call(lambda c: c.post("/admin/reconcile", json={"folder": folder, "host": host}))
    if fmt == "json":
        emit_one(res, fmt)
        return
    console.print(
        f"Scanned {len(res['results'])} folder(s); corrected "
        f"{res['corrected_files']:+d} files and {res['corrected_bytes']:+d} bytes."
    )
