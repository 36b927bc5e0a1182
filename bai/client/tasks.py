"""Provides `client.tasks`: background-task progress (clones, deletions)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from bai import api
from bai.enums import TaskStatus
from bai.errors import BaiError

if TYPE_CHECKING:
    from bai.client.session import BaiClient

POLL = 0.3


class TaskFailed(BaiError):
    """A background task ended in failure; its message says why."""


class TasksApi:
    def __init__(self, client: BaiClient) -> None:
        self._c = client

    async def get(self, task_id: uuid.UUID | str) -> api.TaskInfo:
        return await self._c.call("GET", f"/tasks/{task_id}", api.TaskInfo)

    async def follow(
        self, task_id: uuid.UUID | str, interval: float = POLL
    ) -> AsyncIterator[api.TaskInfo]:
        """Each state of the task until it ends; raises `TaskFailed` if it fails."""
        while True:
            task = await self.get(task_id)
            yield task
            if task.status == TaskStatus.FAILED:
                raise TaskFailed(f"background task failed: {task.message}")
            if task.status == TaskStatus.DONE:
                return
            await asyncio.sleep(interval)
