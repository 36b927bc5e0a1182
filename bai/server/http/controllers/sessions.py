"""Provides Backend.AI's compute-session routes (`/session`, `/stream/session/…/execute`) and
the answers to the client's session GraphQL queries (`compute_session_list`,
`compute_session`, `keypair`)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, WebSocket, delete, get, post, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Response
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from bai.access import Principal
from bai.api import sessions as w
from bai.errors import BaiError
from bai.node import Node
from bai.server.http.deps import Caller, Services
from bai.sessions import gql
from bai.sessions.models import ComputeSession
from bai.sessions.runs import Poll
from bai.sessions.service import SessionRequest


def session_info(s: ComputeSession) -> w.SessionInfo:
    return w.SessionInfo(
        session_id=s.id,
        session_name=s.name,
        image=s.image,
        status=s.state.backend_ai,
        status_info=s.status_info,
        created_at=s.created_at.isoformat(),
        terminated_at=s.terminated_at.isoformat() if s.terminated_at else None,
        access_key=s.access_key,
        mounts=[
            w.SessionMountInfo(
                name=m.folder_name, target=m.target, perm="ro" if m.read_only else "rw"
            )
            for m in s.mounts
        ],
        environ=s.environ,
    )


def _perm(read_only: bool) -> str:
    return "ro" if read_only else "rw"


def _result(run_id: str, poll: Poll) -> w.ExecutionResult:
    return w.ExecutionResult(
        run_id=run_id,
        status="finished" if poll.finished else "continued",
        exit_code=poll.exit_code,
        console=poll.console,
        options={},
    )


def _request(data: w.SessionCreate) -> SessionRequest:
    image = data.image or data.lang or ""  # none: the node's only image, if it has one
    cfg = data.config or w.SessionConfig()
    return SessionRequest(
        image=image,
        name=data.name,
        mounts=list(cfg.mounts or []),
        mount_map=dict(cfg.mount_map or {}),
        environ={k: str(v) for k, v in (cfg.environ or {}).items()},
        resources={k: str(v) for k, v in (cfg.resources or {}).items()},
        pipeline=data.pipeline,
        reuse=data.reuse_if_exists,
    )


class SessionsController(Controller):
    path = "/session"
    tags = ("sessions",)  # type: ignore[assignment]

    @post("", operation_id="createSession")
    async def create(
        self, principal: Caller, services: Services, data: JSONBody[w.SessionCreate]
    ) -> Response[w.SessionCreated]:
        """Start a session: an image, folders to mount (Backend.AI's mount specs), environment
        and limits. 201 when created, 200 when a live session of that name was reused."""
        s, created = await services.sessions.create(principal, _request(data))
        body = w.SessionCreated(
            session_id=s.id,
            session_name=s.name,
            status=s.state.backend_ai,
            service_ports=[],
            created=created,
        )
        return Response(body, status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get("", operation_id="listSessions")
    async def list_sessions(
        self, principal: Caller, services: Services, all: FromQuery[bool] = False
    ) -> w.SessionList:
        """Your sessions, newest last (administrators: everyone's with `all=true`)."""
        found = await services.sessions.list(principal, every=all)
        return w.SessionList(sessions=[session_info(s) for s in found])

    @get("/{name:str}", operation_id="getSession")
    async def info(
        self, principal: Caller, services: Services, name: FromPath[str]
    ) -> w.SessionInfo:
        """One session, by name or id."""
        return session_info(await services.sessions.get(principal, name))

    @post("/{name:str}", operation_id="executeInSession", status_code=HTTP_200_OK)
    async def execute(
        self,
        principal: Caller,
        services: Services,
        name: FromPath[str],
        data: JSONBody[w.ExecuteRequest],
    ) -> w.ExecuteResponse:
        """Run code (`query`: the image's interpreter; `batch`: `options.exec` in a shell) or
        fetch more output of a run (`continue` with its `runId`), until `finished`."""
        run_id, poll = await services.sessions.execute(
            principal,
            name,
            mode=data.mode,
            code=data.code,
            run_id=data.run_id,
            options=data.options,
        )
        return w.ExecuteResponse(result=_result(run_id, poll))

    @get("/{name:str}/logs", operation_id="getSessionLogs")
    async def logs(
        self, principal: Caller, services: Services, name: FromPath[str]
    ) -> w.LogsResponse:
        """The console output of the session's runs (the latest part, up to a limit)."""
        text = await services.sessions.logs(principal, name)
        return w.LogsResponse(result=w.LogsResult(logs=text))

    @delete("/{name:str}", operation_id="destroySession", status_code=HTTP_200_OK)
    async def destroy(
        self, principal: Caller, services: Services, name: FromPath[str]
    ) -> w.SessionDestroyed:
        """End a session: its runs are killed, its scratch home removed, its folders released."""
        s = await services.sessions.destroy(principal, name)
        return w.SessionDestroyed(stats={}, session=session_info(s))


@websocket("/stream/session/{name:str}/execute", operation_id="streamExecute")
async def stream_execute(socket: WebSocket[Any, Any, Any], name: FromPath[str]) -> None:
    """The official client's `run`: one JSON request, then results until `finished`."""
    services: Node = socket.app.state.services
    principal: Principal = socket.user
    await socket.accept()
    try:
        req = await socket.receive_json()
        mode, code = str(req.get("mode", "query")), str(req.get("code", ""))
        options = req.get("options") if isinstance(req.get("options"), dict) else {}
        run_id, poll = await services.sessions.execute(
            principal, name, mode=mode, code=code, run_id=None, options=options, wait=1.0
        )
        while True:
            await socket.send_json(_wire(_result(run_id, poll)))
            if poll.finished:
                break
            run_id, poll = await services.sessions.execute(
                principal, name, mode="continue", code="", run_id=run_id, wait=1.0
            )
    except WebSocketDisconnect:
        return  # the client went away; its run goes on in the session (see `session logs`)
    except BaiError as e:
        failed = Poll([("stderr", f"error: {e.msg}\n")], True, 1)
        await socket.send_json(_wire(_result("", failed)))
    await socket.close()


def _wire(r: w.ExecutionResult) -> dict[str, Any]:
    return {
        "runId": r.run_id,
        "status": r.status,
        "exitCode": r.exit_code,
        "console": [list(c) for c in r.console],
        "options": r.options,
        "files": [],
    }


# ---- the client's GraphQL queries about sessions ---------------------------------------------


async def answer_gql(
    principal: Principal, services: Node, query: str, variables: dict[str, Any]
) -> tuple[str, Any]:
    root, fields = gql.parse(query)
    if root == "keypair":
        me = {
            "user_id": principal.email,
            "access_key": principal.access_key,
            "secret_key": None,  # never sent back; the client only reads is_admin here
            "is_active": True,
            "is_admin": principal.is_admin,
        }
        return root, {f: me.get(f) for f in fields}
    email = principal.email
    if root == "compute_session":
        try:
            s = await services.sessions.get(principal, str(variables.get("id", "")))
        except BaiError:
            return root, None
        return root, {f: gql.session_field(s, f, email) for f in fields}
    every = principal.is_admin and variables.get("access_key") is None
    found = await services.sessions.list(principal, every=every)
    if ak := variables.get("access_key"):
        found = [s for s in found if s.access_key == ak]
    wanted = gql.statuses(variables.get("status"))
    if wanted is not None:
        found = [s for s in found if s.state.value in wanted]
    offset = int(variables.get("offset") or 0)
    limit = int(variables.get("limit") or 100)
    page = found[offset : offset + limit]
    items = [{f: gql.session_field(s, f, email) for f in fields} for s in page]
    return root, {"items": items, "total_count": len(found)}
