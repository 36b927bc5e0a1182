"""Provides background-task progress: the JSON document and the SSE events."""

from __future__ import annotations

import uuid

from bai.api.base import WireResponse
from bai.enums import TaskStatus


class TaskInfo(WireResponse):
    """`GET /tasks/{id}`: a clone or a deletion running in the background."""

    task_id: uuid.UUID
    kind: str  # "clone", "delete"
    status: TaskStatus
    current: int
    total: int
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.status in (TaskStatus.DONE, TaskStatus.FAILED)


class TaskEvent(WireResponse):
    """The data of a `bgtask_*` event of `/events/background-task` (the official client's)."""

    task_id: str
    current_progress: int
    total_progress: int
    message: str = ""
