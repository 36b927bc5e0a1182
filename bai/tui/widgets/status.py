"""Provides `StatusPanel`: the Storage Status panel (folder counts, quota per host)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar, Select, Static

from bai.api import StorageStatus
from bai.api.quota import HostStatus
from bai.tui.folders import human_size


def _usage(used: int, limit: int) -> str:
    return f"{human_size(used)} / {human_size(limit) if limit else 'unlimited'}"


class StatusPanel(Vertical):
    DEFAULT_CSS = """
    StatusPanel { height: auto; border: round $primary; padding: 0 1; }
    StatusPanel Horizontal { height: auto; }
    StatusPanel .count { width: 1fr; }
    StatusPanel Select { width: 24; }
    StatusPanel ProgressBar { width: 30; }
    StatusPanel .quota-label { width: 40; }
    """

    def __init__(self) -> None:
        super().__init__(id="status-panel")
        self.border_title = "Storage Status"
        self._status: StorageStatus | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("Created: –", id="created", classes="count")
            yield Static("Limit: –", id="limit", classes="count")
            yield Static("Project folders: –", id="project", classes="count")
            yield Static("Invited: –", id="invited", classes="count")
        with Horizontal():
            yield Select[str]([], prompt="host", id="status-host", allow_blank=True)
            yield Static("", id="quota-note")
        with Horizontal():
            yield Label("User", classes="quota-label", id="user-label")
            yield ProgressBar(total=100, show_eta=False, id="user-bar")
        with Horizontal():
            yield Label("Project", classes="quota-label", id="project-label")
            yield ProgressBar(total=100, show_eta=False, id="project-bar")

    def show(self, status: StorageStatus) -> None:
        self._status = status
        c = status.folders
        self.query_one("#created", Static).update(f"Created: {c.created}")
        self.query_one("#limit", Static).update(f"Limit: {c.limit or 'unlimited'}")
        self.query_one("#project", Static).update(f"Project folders: {c.project}")
        badge = f"  [reverse] {c.pending_invitations} pending [/]" if c.pending_invitations else ""
        self.query_one("#invited", Static).update(f"Invited: {c.invited}{badge}")
        select = self.query_one("#status-host", Select)
        hosts = [h.host for h in status.hosts]
        current = select.value if select.value in hosts else (hosts[0] if hosts else None)
        select.set_options([(h, h) for h in hosts])
        if current is not None:
            select.value = current
        self._show_host()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._show_host()

    def _host(self) -> HostStatus | None:
        if self._status is None:
            return None
        value = self.query_one("#status-host", Select).value
        return next((h for h in self._status.hosts if h.host == value), None)

    def _show_host(self) -> None:
        host = self._host()
        note = self.query_one("#quota-note", Static)
        if host is None:
            note.update("")
            return
        cap = host.capacity
        note.update(
            f" {host.backend}: {human_size(cap.used_bytes)} of {human_size(cap.total_bytes)} "
            f"used ({cap.percentage:.0f}%)"
            + ("" if host.quota_supported else " · quota not supported")
        )
        self._bar("user", host.user.used_bytes, host.user.limit_bytes)
        project = host.projects[0] if host.projects else None
        if project is None:
            self.query_one("#project-label", Label).update("Project: no project folders")
            self.query_one("#project-bar", ProgressBar).update(total=100, progress=0)
        else:
            self._bar("project", project.used_bytes, project.limit_bytes, project.project)

    def _bar(self, which: str, used: int, limit: int, name: str | None = None) -> None:
        title = f"{which.capitalize()}{f' {name}' if name else ''}: {_usage(used, limit)}"
        self.query_one(f"#{which}-label", Label).update(title)
        total = limit or max(used, 1)
        self.query_one(f"#{which}-bar", ProgressBar).update(total=total, progress=used)
