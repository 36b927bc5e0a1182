"""Provides background-task progress: JSON, and the SSE stream the official client follows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import msgspec
from litestar import Controller, get
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from bai import api
from bai.errors import InvalidRequest
from bai.server.http import wire
from bai.server.http.deps import Caller, Services

POLL = 0.5


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidRequest(f"{value!r} is not a task id") from None


def _event(name: str, data: api.TaskEvent | None = None) -> bytes:
    # The official client needs JSON in every event's data and ends only on server_close.
    body = msgspec.json.encode(data).decode() if data is not None else "{}"
    return f"event: {name}\ndata: {body}\n\n".encode()


class TasksController(Controller):
    path = "/"
    tags = ("tasks",)  # type: ignore[assignment]

    @get("/tasks/{task_id:str}", operation_id="getTask")
    async def get_task(
        self, principal: Caller, services: Services, task_id: FromPath[str]
    ) -> api.TaskInfo:
        """Status and progress of a background task (clone, deletion)."""
        return wire.convert(await services.folders.task(principal, _uuid(task_id)), api.TaskInfo)

    @get("/events/background-task", operation_id="taskEvents")
    async def events(
        self, principal: Caller, services: Services, task_id: FromQuery[str]
    ) -> Stream:
        tid = _uuid(task_id)
        await services.folders.task(principal, tid)  # 404 before the stream starts

        async def stream() -> AsyncIterator[bytes]:
            while True:
                task = await services.tasks.get(tid)
                progress = api.TaskEvent(
                    task_id=task_id,
                    current_progress=task["current"],
                    total_progress=task["total"],
                    message=task["message"],
                )
                if task["status"] == "done":
                    yield _event("bgtask_updated", progress)
                    yield _event("bgtask_done", progress)
                    break
                if task["status"] == "failed":
                    yield _event("bgtask_failed", progress)
                    break
                yield _event("bgtask_updated", progress)
                await asyncio.sleep(POLL)
            yield _event("server_close")

        return Stream(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )
