"""Provides the compute-session and dotfile resources of the typed client:
`SessionsApi(client)` (Backend.AI's `/session` routes) and `DotfilesApi(client)`
(`/user-config/dotfiles` and the group/domain variants)."""

from __future__ import annotations

import builtins
import shlex
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bai.api import dotfiles as dw
from bai.api import sessions as sw

if TYPE_CHECKING:
    from bai.client.session import BaiClient

SESSION_START_TIMEOUT = 300.0  # seconds
_SESSION = "/session"
_DOTFILE_PATHS = {
    "user": "/user-config/dotfiles",
    "group": "/group-config/dotfiles",
    "domain": "/domain-config/dotfiles",
}


def _at(name: str) -> str:
    return f"{_SESSION}/{quote(name, safe='')}"


class SessionsApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def create(
        self,
        image: str,
        *,
        name: str | None = None,
        mounts: Sequence[str] = (),
        environ: dict[str, str] | None = None,
        resources: dict[str, str] | None = None,
        pipeline: str | None = None,
    ) -> sw.SessionCreated:
        body = sw.SessionCreate(
            image=image,
            name=name,
            config=sw.SessionConfig(
                mounts=list(mounts), environ=environ or {}, resources=resources or {}
            ),
            pipeline=pipeline,
            reuse_if_exists=False,
        )
        # Starting a sandbox may first survey the image root for owner-only files (a walk
        # of "/" with the image root "/"): on a loaded machine that outlasts the usual 30 s.
        return await self._c.call(
            "POST", _SESSION, sw.SessionCreated, body=body, timeout=SESSION_START_TIMEOUT
        )

    async def list(self, *, everyone: bool = False) -> sw.SessionList:
        params = {"all": "true" if everyone else None}
        return await self._c.call("GET", _SESSION, sw.SessionList, params=params)

    async def info(self, name: str) -> sw.SessionInfo:
        return await self._c.call("GET", _at(name), sw.SessionInfo)

    async def logs(self, name: str) -> str:
        return (await self._c.call("GET", f"{_at(name)}/logs", sw.LogsResponse)).result.logs

    async def destroy(self, name: str) -> sw.SessionDestroyed:
        return await self._c.call("DELETE", _at(name), sw.SessionDestroyed)

    async def execute(
        self, name: str, *, mode: str, code: str = "", run_id: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> sw.ExecutionResult:  # fmt: skip
        body = sw.ExecuteRequest(mode=mode, code=code, run_id=run_id, options=options)
        return (await self._c.call("POST", _at(name), sw.ExecuteResponse, body=body)).result

    async def run(self, name: str, argv: builtins.list[str]) -> AsyncIterator[sw.ExecutionResult]:
        """Run a command line in the session: each answer as it comes, until `finished`."""
        result = await self.execute(name, mode="batch", options={"exec": shlex.join(argv)})
        yield result
        while result.status != "finished":
            result = await self.execute(name, mode="continue", run_id=result.run_id)
            yield result


class DotfilesApi:
    def __init__(self, client: BaiClient, scope: str = "user") -> None:
        self._c = client
        self._path = _DOTFILE_PATHS[scope]

    async def list(self, **owner: str | None) -> builtins.list[dw.DotfileItem]:
        return await self._c.call("GET", self._path, builtins.list[dw.DotfileItem], params=owner)

    async def get(self, path: str, **owner: str | None) -> dw.DotfileItem:
        return await self._c.call("GET", self._path, dw.DotfileItem, params={"path": path, **owner})

    async def create(
        self, path: str, data: str, permission: str, **owner: str | None
    ) -> dw.DotfileDone:
        body = dw.DotfileWrite(path=path, data=data, permission=permission, **owner)
        return await self._c.call("POST", self._path, dw.DotfileDone, body=body)

    async def update(
        self, path: str, data: str, permission: str, **owner: str | None
    ) -> dw.DotfileDone:
        body = dw.DotfileWrite(path=path, data=data, permission=permission, **owner)
        return await self._c.call("PATCH", self._path, dw.DotfileDone, body=body)

    async def delete(self, path: str, **owner: str | None) -> dw.DotfileDeleted:
        return await self._c.call(
            "DELETE", self._path, dw.DotfileDeleted, params={"path": path, **owner}
        )
