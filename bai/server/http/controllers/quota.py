"""Provides quota-scope administration, reconcile scans and the storage-status panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, JSONBody

from bai.access import require_admin
from bai.server.deps import Caller, Services
from bai.sizes import parse_size


@dataclass
class Limit:
    # Bytes, or a size such as "10g"; 0 means no limit.
    limit: int | str


@dataclass
class ReconcileRequest:
    folder: str | None = None
    host: str | None = None


class QuotaController(Controller):
    path = "/"
    tags = ("quota",)  # type: ignore[assignment]

    @get("/admin/quota-scopes/{host:str}/{ident:str}", operation_id="getQuotaScope")
    async def get_scope(
        self, principal: Caller, services: Services, host: FromPath[str], ident: FromPath[str]
    ) -> dict[str, Any]:
        """Limit and usage of a quota scope (IDENT: e-mail, project name or UUID)."""
        return (await services.quota.get(principal, host, ident)).to_dict()

    @put("/admin/quota-scopes/{host:str}/{ident:str}", operation_id="setQuotaScope")
    async def set_scope(
        self,
        principal: Caller,
        services: Services,
        host: FromPath[str],
        ident: FromPath[str],
        data: JSONBody[Limit],
    ) -> dict[str, Any]:
        state = await services.quota.set_limit(principal, host, ident, parse_size(data.limit))
        return state.to_dict()

    @delete(
        "/admin/quota-scopes/{host:str}/{ident:str}",
        operation_id="unsetQuotaScope",
        status_code=200,
    )
    async def unset_scope(
        self, principal: Caller, services: Services, host: FromPath[str], ident: FromPath[str]
    ) -> dict[str, Any]:
        return (await services.quota.set_limit(principal, host, ident, 0)).to_dict()

    @post("/admin/reconcile", operation_id="reconcileUsage", status_code=200)
    async def reconcile(
        self, principal: Caller, services: Services, data: JSONBody[ReconcileRequest]
    ) -> dict[str, Any]:
        """Walk folders and correct their recorded usage; reports what was corrected."""
        require_admin(principal)
        if data.folder:
            folder = await services.folders.get(principal, data.folder)
            results = [await services.usage.reconcile(folder.id)]
        else:
            results = await services.usage.reconcile_all(data.host)
        return {
            "results": [r.to_dict() for r in results],
            "corrected_files": sum(r.corrected_files for r in results),
            "corrected_bytes": sum(r.corrected_bytes for r in results),
        }

    @get("/folders/_/status", operation_id="storageStatus")
    async def status(self, principal: Caller, services: Services) -> dict[str, Any]:
        """Folder counts and per-host capacity and quota usage (the Storage Status panel)."""
        return await services.status.status(principal)
