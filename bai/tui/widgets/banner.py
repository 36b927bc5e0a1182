"""Provides `ConnectionBanner`: shown while the node cannot be reached."""

from __future__ import annotations

from textual.widgets import Static


class ConnectionBanner(Static):
    DEFAULT_CSS = """
    ConnectionBanner { display: none; background: $error; color: $text; padding: 0 1; }
    ConnectionBanner.-lost { display: block; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "connection_problem", self._show)

    def _show(self, problem: str) -> None:
        self.set_class(bool(problem), "-lost")
        self.update(f"{problem} — retrying…" if problem else "")
