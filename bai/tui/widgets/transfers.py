"""Provides `TransferRow`: one upload or download with its progress bar and rate; it is the
`Progress` the client's transfer functions report to."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from bai.tui.folders import human_size


class TransferRow(Horizontal):
    DEFAULT_CSS = """
    TransferRow { height: 1; }
    TransferRow .what { width: 1fr; }
    TransferRow ProgressBar { width: 40; }
    TransferRow .rate { width: 16; text-align: right; }
    """

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what
        self.started = time.monotonic()
        self.base = 0  # bytes already there when the transfer resumed
        self.bytes = 0

    def compose(self) -> ComposeResult:
        yield Label(self.what, classes="what")
        yield ProgressBar(total=None, show_eta=False)
        yield Label("", classes="rate")

    # ---- the client's Progress protocol

    def total(self, n: int) -> None:
        self.query_one(ProgressBar).update(total=max(n, 1))

    def done(self, n: int) -> None:
        """`n` is the bytes done so far (not an increment)."""
        self.bytes = n
        self.query_one(ProgressBar).update(progress=n)
        seconds = max(time.monotonic() - self.started, 1e-3)
        rate = int(max(n - self.base, 0) / seconds)
        self.query_one(".rate", Label).update(f"{human_size(rate)}/s")

    def resumed(self, offset: int) -> None:
        self.base = offset
