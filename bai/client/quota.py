"""Provides `client.quota`: quota scopes (admins) and reconcile scans."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bai import api
from bai.client.paths import segment

if TYPE_CHECKING:
    from bai.client.session import BaiClient


def _scope_path(host: str, ident: str) -> str:
    return f"/admin/quota-scopes/{segment(host)}/{segment(ident)}"


class QuotaApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def get(self, host: str, ident: str) -> api.QuotaScope:
        """A scope's limit and usage; `ident` is an e-mail, a project name or a UUID."""
        return await self._c.call("GET", _scope_path(host, ident), api.QuotaScope)

    async def set(self, host: str, ident: str, limit: int | str) -> api.QuotaScope:
        """Set the limit: bytes, or a size such as "10g"; 0 means unlimited."""
        body = api.QuotaLimit(limit=limit)
        return await self._c.call("PUT", _scope_path(host, ident), api.QuotaScope, body=body)

    async def unset(self, host: str, ident: str) -> api.QuotaScope:
        return await self._c.call("DELETE", _scope_path(host, ident), api.QuotaScope)

    async def reconcile(
        self, *, folder: str | None = None, host: str | None = None
    ) -> api.ReconcileReport:
        """Walk folders (one, a host's, or all) and correct their recorded usage."""
        body = api.ReconcileRequest(folder=folder, host=host)
        return await self._c.call("POST", "/admin/reconcile", api.ReconcileReport, body=body)
