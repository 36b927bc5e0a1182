"""Provides `/admin/gql`: the GraphQL subset the official client's list commands use."""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, post
from litestar.params import JSONBody

from bai import api
from bai.access import Relation, require_admin
from bai.errors import BaiError
from bai.folders import gql
from bai.server.http.controllers.sessions import answer_gql
from bai.server.http.deps import Caller, Services
from bai.sessions.gql import SESSION_ROOTS


def _count(variables: dict[str, Any], key: str, default: int) -> int:
    value = variables.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise gql.GqlError(f"variable {key!r} must be a whole number of zero or more")
    return value


def _page(items: list[Any], variables: dict[str, Any]) -> list[Any]:
    offset = _count(variables, "offset", 0)
    limit = _count(variables, "limit", 100)
    return items[offset : offset + limit]


def _text(variables: dict[str, Any], key: str) -> str | None:
    value = variables.get(key)
    if value is not None and not isinstance(value, str):
        raise gql.GqlError(f"variable {key!r} must be a string")
    return value


class GqlController(Controller):
    path = "/admin"
    tags = ("graphql",)  # type: ignore[assignment]

    @post("/gql", operation_id="graphql", status_code=200)
    async def query(
        self, principal: Caller, services: Services, data: JSONBody[api.GqlRequest]
    ) -> api.GqlResponse:
        """Answers `vfolder_list`, `vfolder_own_list`, `vfolder_invited_list`,
        `vfolder_project_list`, `storage_volume_list` and `storage_volume`. Errors come back
        with HTTP 200 in `errors`, as GraphQL servers do."""
        root = "query"
        try:
            root, fields = gql.parse(data.query)
            variables = data.variables or {}
            if root in gql.FOLDER_ROOTS:
                items = await self._folders(principal, services, root, fields, variables)
                return api.GqlResponse(data={root: items})
            if root in SESSION_ROOTS:
                root, answer = await answer_gql(principal, services, data.query, variables)
                return api.GqlResponse(data={root: answer})
            if root in gql.STORAGE_ROOTS:
                require_admin(principal)
                volumes = await self._storage(services, root, fields, variables)
                return api.GqlResponse(data={root: volumes})
            raise gql.GqlError(f'Cannot query field "{root}" on type "Query".')
        except BaiError as e:
            return api.GqlResponse(data=None, errors=[api.GqlError(message=e.msg, path=[root])])

    async def _folders(
        self,
        principal: Caller,
        services: Services,
        root: str,
        fields: list[str],
        variables: dict[str, Any],
    ) -> dict[str, Any]:
        # One root serves both `vfolder list` and `admin vfolder list`; as Backend.AI's
        # manager does, an administrator's `vfolder_list` spans every folder of the node.
        every = root == "vfolder_list" and principal.is_admin
        folders = await services.folders.list(principal, every=every)
        if root == "vfolder_own_list":
            folders = [f for f in folders if f.ownership_type == "user" and f.is_owner]
        elif root == "vfolder_invited_list":
            folders = [f for f in folders if f.relation == Relation.INVITEE]
        elif root == "vfolder_project_list":
            folders = [f for f in folders if f.ownership_type == "group"]
        if group := _text(variables, "group_id"):
            folders = [f for f in folders if str(f.project_id) == group]
        folders = gql.apply(folders, _text(variables, "filter"), _text(variables, "order"))
        items = [
            {name: gql.folder_field(f, name) for name in fields} for f in _page(folders, variables)
        ]
        return {"items": items, "total_count": len(folders)}

    async def _storage(
        self, services: Services, root: str, fields: list[str], variables: dict[str, Any]
    ) -> Any:
        async def volume(name: str) -> dict[str, Any]:
            vol = services.hosts.volumes[name]
            cap = await vol.capacity()
            values: dict[str, Any] = {
                "id": name,
                "backend": vol.backend,
                "capabilities": vol.backend_ai_capabilities(),
                "path": str(vol.config.path or vol.config.endpoint or ""),
                "fsprefix": "",
                # The official client decodes these two again: JSON-encoded strings.
                "hardware_metadata": json.dumps({}),
                "performance_metric": json.dumps(
                    {"used_bytes": cap.used, "capacity_bytes": cap.total}
                ),
                "usage": json.dumps({"used_bytes": cap.used, "capacity_bytes": cap.total}),
            }
            unknown = [f for f in fields if f not in values]
            if unknown:
                raise gql.GqlError(f'Cannot query field "{unknown[0]}" on type "StorageVolume".')
            return {f: values[f] for f in fields}

        if root == "storage_volume":
            name = _text(variables, "vfolder_host") or _text(variables, "id")
            if name not in services.hosts.volumes:
                return None
            return await volume(str(name))
        names = sorted(services.hosts.volumes)
        return {
            "items": [await volume(n) for n in _page(names, variables)],
            "total_count": len(names),
        }
