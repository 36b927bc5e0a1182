"""Provides `BaiApp`: the terminal Data & Storage page of one node.

The app holds the one typed client, follows the node's change events in a worker (showing a
banner and retrying while the node is unreachable) and hands each event to the screens that
listen. It is the one place where a failed worker becomes a notification.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar, Protocol, runtime_checkable

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.worker import Worker, WorkerState

from bai.api.events import ChangeEventData
from bai.client import BaiClient, ClientConfig, EventsApi, NodeUnreachable
from bai.errors import BaiError
from bai.tui.screens.storage import StorageScreen

RETRY_MAX = 5.0


@runtime_checkable
class ChangeListener(Protocol):
    def on_change(self, event: ChangeEventData) -> None: ...


class BaiApp(App[None]):
    TITLE = "bai — Data & Storage"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit", priority=True)]
    connection_problem: reactive[str] = reactive("")

    def __init__(self, config: ClientConfig, *, live: bool = True) -> None:
        super().__init__()
        self.client = BaiClient(config)
        self.live = live
        self.sub_title = config.endpoint

    def on_mount(self) -> None:
        self.push_screen(StorageScreen())
        if self.live:
            self.follow_events()

    async def on_unmount(self) -> None:
        await self.client.aclose()

    @work(exclusive=True, group="events", exit_on_error=False)
    async def follow_events(self) -> None:
        """Follow the change stream for as long as the app runs; reconnect when it ends or
        fails (a new stream begins with `resync`, so nothing missed meanwhile is lost)."""
        pause = 0.5
        events = EventsApi(self.client)  # one, so that each stream resumes the last
        while True:
            try:
                async for event in events.stream():
                    if self.connection_problem:
                        self.connection_problem = ""
                    pause = 0.5
                    self.dispatch_change(event)
            except NodeUnreachable:
                self.connection_problem = f"Cannot reach the node at {self.client.config.endpoint}"
            except BaiError as e:
                self.connection_problem = f"The node refused the event stream: {e.msg}"
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MAX)

    def dispatch_change(self, event: ChangeEventData) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, ChangeListener):
                screen.on_change(event)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, NodeUnreachable):
            self.connection_problem = error.msg
            self.notify(error.msg, title="Node unreachable", severity="error")
        elif isinstance(error, BaiError):
            self.notify(error.msg, title="Error", severity="error", timeout=8)
        elif isinstance(error, OSError):
            where = f"{error.filename}: " if error.filename else ""
            self.notify(f"{where}{error.strerror or error}", title="Local file", severity="error")
        else:
            self.notify(f"{type(error).__name__}: {error}", title="Unexpected", severity="error")
