"""Provides the small dialogs: a line of text (rename, new directory, invite) and a
confirmation that may require typing a name first (delete forever)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

DIALOG_CSS = """
.dialog { width: 72; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
.dialog .title { text-style: bold; margin-bottom: 1; }
.dialog .problem { color: $error; height: auto; }
.dialog .buttons { height: auto; margin-top: 1; align-horizontal: right; }
.dialog Button { margin-left: 1; }
"""

Validator = Callable[[str], str]  # the problem with a value, or "" when it is fine
R = TypeVar("R")


def then(fn: Callable[[R], object]) -> Callable[[R], None]:
    """A dialog's result handler from a worker method (which returns its `Worker`)."""

    def handle(result: R) -> None:
        fn(result)

    return handle


class TextDialog(ModalScreen[str | None]):
    """Asks for one line of text; `validate` names the problem, live."""

    DEFAULT_CSS = "TextDialog { align: center middle; }" + DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        label: str,
        *,
        value: str = "",
        ok: str = "OK",
        validate: Validator | None = None,
        placeholder: str = "",
    ) -> None:
        super().__init__()
        self.title_text, self.label, self.value, self.ok = title, label, value, ok
        self.validate = validate or (lambda v: "" if v.strip() else "enter a value")
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="title")
            yield Label(self.label)
            yield Input(self.value, placeholder=self.placeholder, id="text")
            yield Static("", classes="problem", id="problem")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.ok, variant="primary", id="ok")

    def on_mount(self) -> None:
        self._check(self.value)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._check(event.value)

    def _check(self, value: str) -> None:
        problem = self.validate(value)
        self.query_one("#problem", Static).update(problem)
        self.query_one("#ok", Button).disabled = bool(problem)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not self.query_one("#ok", Button).disabled:
            self.dismiss(event.value.strip())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.dismiss(self.query_one("#text", Input).value.strip())
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no; with `typed`, the button stays disabled until that exact text is typed."""

    DEFAULT_CSS = "ConfirmDialog { align: center middle; }" + DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, title: str, message: str, *, ok: str = "OK", typed: str | None = None
    ) -> None:
        super().__init__()
        self.title_text, self.message, self.ok, self.typed = title, message, ok, typed

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="title")
            yield Static(self.message)
            if self.typed is not None:
                yield Label(f"Type {self.typed!r} to confirm:")
                yield Input(placeholder=self.typed, id="typed")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.ok, variant="error", id="ok", disabled=self.typed is not None)

    def on_mount(self) -> None:
        if self.typed is None:
            self.query_one("#ok", Button).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#ok", Button).disabled = event.value != self.typed

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.typed:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "ok")

    def action_cancel(self) -> None:
        self.dismiss(False)
