"""Provides progress display: rich bars for transfers and background tasks (on stderr).

A bar appears only once its transfer has started, so a command that fails before sending a
byte prints its one error line and no frozen 0 % bar.
"""

from __future__ import annotations

import uuid
from types import TracebackType

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
from bai.sizes import format_size

_console = Console(stderr=True)


class Bars:
    """A set of bars, shown from the first report of any of them."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=_console,
            transient=False,
        )
        self.started = False

    def __enter__(self) -> Bars:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.started:
            self.progress.stop()

    def track(self, description: str, total: int | None = None) -> Tracker:
        return Tracker(self, description, total)

    def add(self, description: str, total: int | None) -> TaskID:
        if not self.started:
            self.progress.start()
            self.started = True
        return self.progress.add_task(description, total=total)


class Tracker:
    """One bar, fed by a transfer (`bai.client.Progress`): its total, absolute progress, and
    a line when it continues an earlier run."""

    def __init__(self, bars: Bars, description: str, total: int | None) -> None:
        self.bars = bars
        self.description = description
        self._total = total
        self._task: TaskID | None = None

    @property
    def task(self) -> TaskID:
        if self._task is None:
            self._task = self.bars.add(self.description, self._total)
        return self._task

    def total(self, n: int) -> None:
        self.bars.progress.update(self.task, total=n)

    def done(self, n: int) -> None:
        self.bars.progress.update(self.task, completed=n)

    def resumed(self, offset: int) -> None:
        self.bars.progress.console.print(
            f"{self.description}: resuming at {offset} bytes ({format_size(offset)})",
            highlight=False,
        )


def transfer_bar() -> Bars:
    return Bars()


async def follow_task(client: BaiClient, task_id: uuid.UUID, description: str) -> None:
    with Bars() as bars:
        track = bars.track(description)
        async for task in client.tasks.follow(task_id):
            if task.total:
                track.total(task.total)
            track.done(task.current)
