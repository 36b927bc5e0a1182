"""Provides quota-scope administration, reconcile scans and the storage-status panel."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, JSONBody

from bai import api
from bai.server.http import wire
from bai.server.http.deps import Caller, Services
from bai.sizes import parse_size


class QuotaController(Controller):
    path = "/"
    tags = ("quota",)  # type: ignore[assignment]

    @get("/admin/quota-scopes/{host:str}/{ident:str}", operation_id="getQuotaScope")
    async def get_scope(
        self, principal: Caller, services: Services, host: FromPath[str], ident: FromPath[str]
    ) -> api.QuotaScope:
        """Limit and usage of a quota scope (IDENT: e-mail, project name or UUID)."""
        return wire.quota_scope(await services.quota.get(principal, host, ident))

    @put("/admin/quota-scopes/{host:str}/{ident:str}", operation_id="setQuotaScope")
    async def set_scope(
        self,
        principal: Caller,
        services: Services,
        host: FromPath[str],
        ident: FromPath[str],
        data: JSONBody[api.QuotaLimit],
    ) -> api.QuotaScope:
        """Set a scope's limit (0 = unlimited)."""
        state = await services.quota.set_limit(principal, host, ident, parse_size(data.limit))
        return wire.quota_scope(state)

    @delete(
        "/admin/quota-scopes/{host:str}/{ident:str}",
        operation_id="unsetQuotaScope",
        status_code=200,
    )
    async def unset_scope(
        self, principal: Caller, services: Services, host: FromPath[str], ident: FromPath[str]
    ) -> api.QuotaScope:
        """Remove a scope's limit."""
        return wire.quota_scope(await services.quota.set_limit(principal, host, ident, 0))

    @post("/admin/reconcile", operation_id="reconcileUsage", status_code=200)
    async def reconcile(
        self, principal: Caller, services: Services, data: JSONBody[api.ReconcileRequest]
    ) -> api.ReconcileReport:
        """Walk folders and correct their recorded usage; reports what was corrected."""
        folder_id = None
        if data.folder:
            folder_id = (await services.folders.get(principal, data.folder)).id
        results = await services.usage.reconcile_for(principal, folder_id, data.host)
        return wire.reconcile_report(results)

    @get("/folders/_/status", operation_id="storageStatus")
    async def status(self, principal: Caller, services: Services) -> api.StorageStatus:
        """Folder counts and per-host capacity and quota usage (the Storage Status panel)."""
        return wire.convert(await services.status.status(principal), api.StorageStatus)
