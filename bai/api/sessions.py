"""Provides the compute-session bodies: Backend.AI's `/session` routes and bai's list.

The official client creates with `POST /session` (`image`, `name`, `config.mounts`,
`config.mount_map`, `config.environ`, `config.resources`, …), executes with
`POST /session/{name}` (`mode`, `code`, `runId`, `options`) until the answer's `status` is
`finished`, reads `GET /session/{name}/logs` and destroys with `DELETE /session/{name}`.
bai adds `pipeline` on create and `GET /session` to list.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from bai.api.base import WireRequest, WireResponse


class SessionConfig(WireRequest):
    mounts: list[str] | None = None  # names, or bai's mount specs
    mount_map: dict[str, str] | None = None  # name -> path
    environ: dict[str, str] | None = None
    resources: dict[str, Any] | None = None  # cpu, mem, pids


class SessionCreate(WireRequest):
    image: str | None = None
    lang: str | None = None  # the image, as API v4 and older called it
    name: str | None = None
    config: SessionConfig | None = None
    reuse_if_exists: bool = msgspec.field(default=True, name="reuseIfExists")
    pipeline: str | None = None  # bai: a pipeline folder for this session, at /pipeline


class SessionCreated(WireResponse):
    session_id: uuid.UUID = msgspec.field(name="sessionId")
    session_name: str = msgspec.field(name="sessionName")
    status: str  # RUNNING
    service_ports: list[Any] = msgspec.field(name="servicePorts")
    created: bool  # false when an existing session of that name was reused


class SessionMountInfo(WireResponse):
    name: str
    target: str
    perm: str  # ro or rw


class SessionInfo(WireResponse):
    session_id: uuid.UUID = msgspec.field(name="sessionId")
    session_name: str = msgspec.field(name="sessionName")
    image: str
    status: str  # Backend.AI's word: RUNNING, TERMINATED, ERROR, PREPARING
    status_info: str | None = msgspec.field(name="statusInfo")
    created_at: str = msgspec.field(name="createdAt")
    terminated_at: str | None = msgspec.field(name="terminatedAt")
    access_key: str = msgspec.field(name="accessKey")
    mounts: list[SessionMountInfo]
    environ: dict[str, str]  # what the request set; the node adds BACKENDAI_* and HOME, …


class SessionList(WireResponse):
    sessions: list[SessionInfo]


class ExecuteRequest(WireRequest):
    mode: str = "query"  # query, batch or continue
    code: str = ""
    run_id: str | None = msgspec.field(default=None, name="runId")
    options: dict[str, Any] | None = None  # batch: clean, build, exec


class ExecutionResult(WireResponse):
    run_id: str = msgspec.field(name="runId")
    status: str  # continued or finished
    exit_code: int | None = msgspec.field(name="exitCode")
    console: list[tuple[str, str]]  # ["stdout" | "stderr", text]
    options: dict[str, Any] | None = None
    files: list[Any] = msgspec.field(default_factory=list)


class ExecuteResponse(WireResponse):
    result: ExecutionResult


class LogsResult(WireResponse):
    logs: str


class LogsResponse(WireResponse):
    result: LogsResult


class SessionDestroyed(WireResponse):
    stats: dict[str, Any]
    session: SessionInfo
