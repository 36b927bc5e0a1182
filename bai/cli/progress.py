"""Provides progress display: rich bars for transfers and background tasks (on stderr)."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from bai.client import BaiClient
from bai.errors import BaiError

_console = Console(stderr=True)


def transfer_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}", justify="left"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=_console,
        transient=False,
    )


class Tracker:
    """One bar: set its total, then report absolute progress."""

    def __init__(self, progress: Progress, description: str, total: int | None) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task(description, total=total)

    def total(self, n: int) -> None:
        self.progress.update(self.task, total=n)

    def done(self, n: int) -> None:
        self.progress.update(self.task, completed=n)


async def follow_task(client: BaiClient, task_id: str, description: str) -> None:
    with transfer_bar() as bar:
        track = Tracker(bar, description, None)
        while True:
            task = await client.get(f"/tasks/{task_id}")
            if task["total"]:
                track.total(task["total"])
            track.done(task["current"])
            if task["status"] == "done":
                return
            if task["status"] == "failed":
                raise BaiError(f"background task failed: {task['message']}")
            await asyncio.sleep(0.3)
