"""Provides quota-scope, reconcile and storage-status bodies (bai's additions)."""

from __future__ import annotations

import uuid

from bai.api.base import WireRequest, WireResponse


class QuotaLimit(WireRequest):
    limit: int | str  # bytes, or a size such as "10g"; 0 means no limit


class QuotaScope(WireResponse):
    """One user's or project's scope on one host: `user:<uuid>` or `project:<uuid>`."""

    host: str
    scope_id: str
    limit_bytes: int  # 0 = unlimited
    used_bytes: int
    kernel_enforced: bool  # the volume enforces the limit itself (btrfs qgroups)


class ReconcileRequest(WireRequest):
    folder: str | None = None  # name or id; all folders when not given
    host: str | None = None


class Reconciled(WireResponse):
    folder_id: uuid.UUID
    files: int
    bytes: int
    corrected_files: int
    corrected_bytes: int
    seconds: float
    complete: bool  # False when the scan stopped at its time budget


class ReconcileReport(WireResponse):
    results: list[Reconciled]
    corrected_files: int
    corrected_bytes: int


class FolderCounts(WireResponse):
    created: int
    limit: int  # 0 = unlimited
    project: int
    invited: int
    pending_invitations: int


class HostCapacity(WireResponse):
    used_bytes: int
    total_bytes: int
    percentage: float


class ProjectQuota(QuotaScope, kw_only=True):
    project: str | None  # the project's name


class HostStatus(WireResponse):
    host: str
    backend: str
    quota_supported: bool
    capacity: HostCapacity
    user: QuotaScope
    projects: list[ProjectQuota]


class StorageStatus(WireResponse):
    """`GET /folders/_/status`: the Storage Status panel."""

    folders: FolderCounts
    hosts: list[HostStatus]
