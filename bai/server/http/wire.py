"""Provides the conversions from domain records to wire structs (`bai.api`).

The one place where the node's records take Backend.AI's wire shape: `bai.api` must not know
the domain (the client imports it), and the domain must not know the wire.
"""

from __future__ import annotations

import stat
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from bai import api
from bai.accounts.models import Keypair, KeypairPolicy, NewKeypair, Project, ScopePolicy, User
from bai.enums import FolderStatus, Ownership, Permission, Role, UsageMode

if TYPE_CHECKING:
    from bai.folders.models import VFolder
    from bai.folders.quota import ScopeUsage
    from bai.folders.usage import Reconciled
    from bai.storage.base import Entry

S = TypeVar("S", bound=msgspec.Struct)


def iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


def convert(value: Mapping[str, Any] | object, kind: type[S]) -> S:
    """A domain document (a dict, or a record with attributes) checked into a wire struct, so
    a drift between the two is an error here rather than a surprise in a client."""
    return msgspec.convert(value, kind, from_attributes=True)


# ---- folders ---------------------------------------------------------------------------------


def folder_info(f: VFolder) -> api.FolderInfo:
    ownership = Ownership(f.ownership_type)
    return api.FolderInfo(
        id=f.id,
        name=f.name,
        host=f.host,
        quota_scope_id=f.quota_scope_id,
        usage_mode=UsageMode(f.usage_mode),
        permission=Permission(f.caller_permission or f.permission),
        folder_permission=Permission(f.permission),
        ownership_type=ownership,
        type=ownership,
        user=f.user_id,
        group=f.project_id,
        group_name=f.project_name,
        owner=f.owner_email if ownership == Ownership.USER else f.project_name,
        creator=f.creator,
        is_owner=f.is_owner,
        cloneable=f.cloneable,
        status=FolderStatus(f.status),
        status_history=dict(f.status_history),
        created_at=iso(f.created_at),
        last_used=iso(f.last_used),
        num_files=f.num_files,
        num_files_camel=f.num_files,
        cur_size=f.cur_size,
        automount=f.name.startswith("."),
        read_only=f.read_only,
        bucket=f.location if f.storage_meta else None,
    )


def cloned_folder(f: VFolder, task_id: uuid.UUID) -> api.ClonedFolder:
    info = folder_info(f)
    return api.ClonedFolder(**msgspec.structs.asdict(info), bgtask_id=task_id)


# ---- accounts --------------------------------------------------------------------------------


def user_info(u: User) -> api.UserInfo:
    return api.UserInfo(
        id=u.id,
        email=u.email,
        username=u.username,
        full_name=u.full_name,
        role=Role(u.role),
        status=str(u.status),
        domain_name=u.domain_name,
        resource_policy=u.resource_policy,
        created_at=iso(u.created_at),
        projects=list(u.projects),
    )


def project_info(p: Project) -> api.ProjectInfo:
    return api.ProjectInfo(
        id=p.id,
        name=p.name,
        description=p.description,
        domain_name=p.domain_name,
        is_active=p.is_active,
        resource_policy=p.resource_policy,
        created_at=iso(p.created_at),
        members=list(p.members),
    )


def keypair_info(k: Keypair) -> api.KeypairInfo:
    return api.KeypairInfo(
        access_key=k.access_key,
        user=k.user_email,
        is_active=k.is_active,
        resource_policy=k.resource_policy,
        created_at=iso(k.created_at),
        last_used=iso(k.last_used),
    )


def keypair_secret(k: NewKeypair) -> api.KeypairSecret:
    return api.KeypairSecret(access_key=k.access_key, secret_key=k.secret_key)


def issued_keypair(k: NewKeypair) -> api.IssuedKeypair:
    return api.IssuedKeypair(access_key=k.access_key, secret_key=k.secret_key, user=k.user_email)


def resource_policy(p: ScopePolicy | KeypairPolicy) -> api.ResourcePolicy:
    if isinstance(p, KeypairPolicy):
        return api.ResourcePolicy(
            kind="keypair",
            name=p.name,
            allowed_vfolder_hosts={
                host: [str(x) for x in perms] for host, perms in p.allowed_vfolder_hosts.items()
            },
            max_concurrent_sftp_sessions=p.max_concurrent_sftp_sessions,
        )
    return api.ResourcePolicy(
        kind=str(p.kind),
        name=p.name,
        max_vfolder_count=p.max_vfolder_count,
        max_quota_scope_size=p.max_quota_scope_size,
    )


# ---- quota and usage -------------------------------------------------------------------------


def quota_scope(s: ScopeUsage) -> api.QuotaScope:
    return api.QuotaScope(
        host=s.host,
        scope_id=s.scope_id,
        limit_bytes=s.limit,
        used_bytes=s.used,
        kernel_enforced=s.supported,
    )


def reconciled(r: Reconciled) -> api.Reconciled:
    return api.Reconciled(
        folder_id=r.folder_id,
        files=r.files,
        bytes=r.bytes,
        corrected_files=r.corrected_files,
        corrected_bytes=r.corrected_bytes,
        seconds=round(r.seconds, 3),
        complete=r.complete,
    )


def reconcile_report(results: list[Reconciled]) -> api.ReconcileReport:
    return api.ReconcileReport(
        results=[reconciled(r) for r in results],
        corrected_files=sum(r.corrected_files for r in results),
        corrected_bytes=sum(r.corrected_bytes for r in results),
    )


# ---- files -----------------------------------------------------------------------------------


def file_entry(e: Entry) -> api.FileEntry:
    return api.FileEntry(
        name=e.name,
        type=str(e.type),
        size=e.size,
        mode=stat.filemode(e.mode),
        created=datetime.fromtimestamp(e.created, UTC).isoformat(),
        modified=datetime.fromtimestamp(e.modified, UTC).isoformat(),
        symlink_target=e.symlink_target,
    )


def official_file_entry(e: Entry) -> api.OfficialFileEntry:
    return api.OfficialFileEntry(
        filename=e.name, size=e.size, mtime=e.modified, mode=stat.filemode(e.mode)
    )
