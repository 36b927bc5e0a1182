"""Provides `bai admin resource-policy|quota-scope|reconcile`: limits and usage."""

from __future__ import annotations

import click

from bai import api
from bai.api.admin import POLICY_KINDS
from bai.cli.admin import admin
from bai.cli.context import call, command
from bai.cli.output import Col, console, emit, emit_one, output_option
from bai.client import BaiClient
from bai.enums import HostPermission, choices
from bai.errors import InvalidRequest, NotFound
from bai.sizes import format_size, parse_size


def _hosts_text(grants: dict[str, list[str]]) -> str:
    every = set(choices(HostPermission))
    parts = [f"{h}: {'all' if set(p) == every else ', '.join(p)}" for h, p in grants.items()]
    return "; ".join(parts) or "-"


POLICY_COLUMNS = [
    Col("kind", "Kind"),
    Col("name", "Name", keep=True),
    Col("max_vfolder_count", "Max folders", drop=1, show=lambda n: str(n) if n else "unlimited"),
    Col(
        "max_quota_scope_size",
        "Max scope size",
        drop=1,
        show=lambda n: format_size(n) if n else "unlimited",
    ),
    Col("allowed_vfolder_hosts", "Allowed hosts", show=_hosts_text),
    Col("max_concurrent_sftp_sessions", "Max SFTP", drop=2),
]


@admin.group("resource-policy")
def resource_policy() -> None:
    """Manage user, project and keypair resource policies."""


@resource_policy.command("list")
@click.option("--kind", type=click.Choice(POLICY_KINDS))
@output_option
@command
async def policy_list(kind: str | None, fmt: str) -> None:
    """List resource policies."""
    policies = await call(lambda c: c.admin.policies.list(kind=kind))
    emit(policies, POLICY_COLUMNS, fmt, key="policies")


def parse_host_option(spec: str) -> tuple[str, list[str]]:
    host, sep, perms = spec.partition("=")
    every = choices(HostPermission)
    if not sep or not host:
        raise InvalidRequest(
            f"--host {spec!r}: write HOST=PERM,PERM… or HOST=all (permissions: {', '.join(every)})"
        )
    names = [p.strip() for p in perms.split(",") if p.strip()]
    return host, every if names == ["all"] else names


@resource_policy.command("set")
@click.argument("kind", type=click.Choice(POLICY_KINDS))
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
    grants = [parse_host_option(spec) for spec in hosts]  # a clear local error first

    async def run(c: BaiClient) -> api.ResourcePolicy:
        allowed = None
        if hosts or remove_hosts:
            current = await c.admin.policies.get(kind, name)
            allowed = dict(current.allowed_vfolder_hosts or {}) if current else {}
            allowed.update(grants)
            for host in remove_hosts:
                if allowed.pop(host, None) is None:
                    raise NotFound(f"policy {name!r} does not list host {host!r}")
        changes = api.PolicyUpdate(
            max_vfolder_count=max_vfolder_count,
            max_quota_scope_size=max_quota_scope_size,
            allowed_vfolder_hosts=allowed,
            max_concurrent_sftp_sessions=max_concurrent_sftp_sessions,
        )
        return await c.admin.policies.set(kind, name, changes)

    emit_one(await call(run), fmt)


# ---- quota scopes and usage ------------------------------------------------------------------


def _scope_row(scope: api.QuotaScope, fmt: str) -> None:
    if fmt == "json":
        emit_one(scope, fmt)
        return
    limit = scope.limit_bytes
    emit_one(
        {
            "host": scope.host,
            "scope": scope.scope_id,
            "used": format_size(scope.used_bytes),
            "limit": format_size(limit) if limit else "unlimited",
            "enforced by": "the kernel (btrfs qgroup)"
            if scope.kernel_enforced
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
    _scope_row(await call(lambda c: c.quota.get(host, ident)), fmt)


@quota_scope.command("set")
@click.argument("host")
@click.argument("ident", metavar="IDENTIFIER")
@click.argument("limit")
@output_option
@command
async def scope_set(host: str, ident: str, limit: str, fmt: str) -> None:
    """Set a scope's limit, such as 10g or 512m (0 = unlimited)."""
    parse_size(limit)  # a clear local error before any request
    _scope_row(await call(lambda c: c.quota.set(host, ident, limit)), fmt)


@quota_scope.command("unset")
@click.argument("host")
@click.argument("ident", metavar="IDENTIFIER")
@output_option
@command
async def scope_unset(host: str, ident: str, fmt: str) -> None:
    """Remove a scope's limit."""
    _scope_row(await call(lambda c: c.quota.unset(host, ident)), fmt)


@admin.command("reconcile")
@click.option("--folder", help="Only this folder (name or id).")
@click.option("--host", help="Only folders on this host.")
@output_option
@command
async def reconcile(folder: str | None, host: str | None, fmt: str) -> None:
    """Walk folders and correct their recorded usage to what is on disk."""
    res = await call(lambda c: c.quota.reconcile(folder=folder, host=host))
    if fmt == "json":
        emit_one(res, fmt)
        return
    console.print(
        f"Scanned {len(res.results)} folder(s); corrected "
        f"{res.corrected_files:+d} files and {res.corrected_bytes:+d} bytes."
    )
    unfinished = [r for r in res.results if not r.complete]
    if unfinished:
        console.print(
            f"{len(unfinished)} folder(s) too large to walk now; the node finishes them in "
            "the background (`bai vfolder info` shows the result)."
        )
