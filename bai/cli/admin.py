"""Provides `bai admin user|project|keypair|node …` over the typed client (policies and quota
scopes are in `policies.py`)."""

from __future__ import annotations

import click

from bai import api
from bai.api.admin import USER_STATUSES
from bai.cli.context import call, command
from bai.cli.output import Col, console, emit, emit_one, output_option
from bai.enums import Role, choices

USER_COLUMNS = [
    Col("email", "Email", keep=True),
    Col("username", "Username", drop=4),
    Col("role", "Role", drop=1),
    Col("status", "Status", drop=2),
    Col("resource_policy", "Policy", drop=3),
    Col("projects", "Projects", drop=5),
    Col("id", "ID", drop=9),
]
PROJECT_COLUMNS = [
    Col("name", "Name", keep=True),
    Col("description", "Description", drop=2),
    Col("members", "Members"),
    Col("resource_policy", "Policy", drop=3),
    Col("id", "ID", drop=9),
]
KEYPAIR_COLUMNS = [
    Col("access_key", "Access key", keep=True),
    Col("user", "User", keep=True),
    Col("is_active", "Active"),
    Col("resource_policy", "Policy", drop=2),
    Col("created_at", "Created", drop=4),
    Col("last_used", "Last used", drop=3),
]
NODE_COLUMNS = [
    Col("name", "Name", keep=True),
    Col("state", "State", keep=True),
    Col("url", "URL", keep=True),
    Col("volumes", "Volumes", drop=2),
    Col("heartbeat_at", "Last heartbeat", drop=1),
    Col("version", "Version", drop=4),
    Col("id", "ID", drop=3),
]
ROLES = click.Choice(choices(Role))


@click.group()
def admin() -> None:
    """Administer the node: users, projects, keypairs, resource policies."""


def _show_secret(kp: api.KeypairSecret, fmt: str) -> None:
    if fmt == "json":
        emit_one(kp, fmt)
        return
    console.print(f"Access key: {kp.access_key}")
    console.print(f"Secret key: {kp.secret_key}")
    console.print("[yellow]The secret key is shown only now; store it safely.[/]")


# ---- users -----------------------------------------------------------------------------------


@admin.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.argument("email")
@click.option("--username", help="Login name [default: the e-mail address].")
@click.option("--full-name", default="")
@click.option("--role", type=ROLES, default="user", show_default=True)
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
    res = await call(
        lambda c: c.admin.users.create(
            email,
            username=username,
            full_name=full_name,
            role=role,
            resource_policy=resource_policy,
            keypair_policy=keypair_policy,
            keypair=not no_keypair,
        )
    )
    if fmt == "json":
        emit_one(res, fmt)
        return
    console.print(f"User {res.user.email} created ({res.user.id}).")
    if res.keypair:
        _show_secret(res.keypair, fmt)


@user.command("list")
@output_option
@command
async def user_list(fmt: str) -> None:
    """List users."""
    emit(await call(lambda c: c.admin.users.list()), USER_COLUMNS, fmt, key="users")


@user.command("update")
@click.argument("ident", metavar="EMAIL_OR_ID")
@click.option("--full-name")
@click.option("--username")
@click.option("--role", type=ROLES)
@click.option("--status", type=click.Choice(USER_STATUSES))
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
    updated = await call(
        lambda c: c.admin.users.update(
            ident,
            full_name=full_name,
            username=username,
            role=role,
            status=status,
            resource_policy=resource_policy,
        )
    )
    emit_one(updated, fmt)


@user.command("deactivate")
@click.argument("ident", metavar="EMAIL_OR_ID")
@output_option
@command
async def user_deactivate(ident: str, fmt: str) -> None:
    """Deactivate a user: every keypair of theirs stops working."""
    emit_one(await call(lambda c: c.admin.users.deactivate(ident)), fmt)


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
    created = await call(
        lambda c: c.admin.projects.create(
            name, description=description, resource_policy=resource_policy
        )
    )
    emit_one(created, fmt)


@project.command("list")
@output_option
@command
async def project_list(fmt: str) -> None:
    """List projects (members see their own projects)."""
    emit(await call(lambda c: c.admin.projects.list()), PROJECT_COLUMNS, fmt, key="projects")


@project.command("add-member")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@output_option
@command
async def project_add_member(name: str, emails: tuple[str, ...], fmt: str) -> None:
    """Add users to a project."""
    emit_one(await call(lambda c: c.admin.projects.add_members(name, list(emails))), fmt)


@project.command("remove-member")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@output_option
@command
async def project_remove_member(name: str, emails: tuple[str, ...], fmt: str) -> None:
    """Remove users from a project."""
    emit_one(await call(lambda c: c.admin.projects.remove_members(name, list(emails))), fmt)


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
    issued = await call(lambda c: c.admin.keypairs.create(email, resource_policy=resource_policy))
    _show_secret(issued, fmt)


@keypair.command("list")
@click.option("--user", "email", help="Only this user's keypairs.")
@output_option
@command
async def keypair_list(email: str | None, fmt: str) -> None:
    """List keypairs (never their secrets)."""
    kps = await call(lambda c: c.admin.keypairs.list(email=email))
    emit(kps, KEYPAIR_COLUMNS, fmt, key="keypairs")


@keypair.command("revoke")
@click.argument("access_key")
@output_option
@command
async def keypair_revoke(access_key: str, fmt: str) -> None:
    """Revoke a keypair: requests signed with it are refused from now on."""
    emit_one(await call(lambda c: c.admin.keypairs.revoke(access_key)), fmt)


# ---- nodes -----------------------------------------------------------------------------------


@admin.group()
def node() -> None:
    """The nodes sharing this node's database."""


@node.command("list")
@output_option
@command
async def node_list(fmt: str) -> None:
    """List the nodes: up, down (stopped heartbeating; others took its tasks) or stopped."""
    nodes = await call(lambda c: c.admin.nodes.list())
    if fmt == "json":
        emit(nodes, NODE_COLUMNS, fmt, key="nodes")
        return
    rows = [
        {
            "name": n.name + (" (this node)" if n.this_node else ""),
            "state": n.state,
            "url": n.url,
            "volumes": ", ".join(v.name + (" (shared)" if v.shared else "") for v in n.volumes),
            "heartbeat_at": n.heartbeat_at[:19].replace("T", " "),
            "version": n.version,
            "id": n.id,
        }
        for n in nodes
    ]
    emit(rows, NODE_COLUMNS, fmt, key="nodes")
