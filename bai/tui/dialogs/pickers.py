"""Provides the pickers: a local file or directory (`LocalPathDialog`) and a directory of
the folder to move things into (`DestinationDialog`)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label, OptionList, Static

from bai.tui.dialogs.common import DIALOG_CSS


class LocalPathDialog(ModalScreen[Path | None]):
    """Pick a local path from a tree (or type it): what to upload, or where to download."""

    DEFAULT_CSS = (
        "LocalPathDialog { align: center middle; }"
        + DIALOG_CSS
        + """
    LocalPathDialog .dialog { width: 90; }
    LocalPathDialog DirectoryTree { height: 14; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, start: Path, *, must_exist: bool, ok: str) -> None:
        super().__init__()
        self.title_text, self.start, self.must_exist, self.ok = title, start, must_exist, ok

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="title")
            yield DirectoryTree(self.start, id="tree")
            yield Label("Path:")
            yield Input(str(self.start), id="path")
            yield Static("", classes="problem", id="problem")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.ok, variant="primary", id="ok")

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one("#path", Input).value = str(event.path)

    def on_directory_tree_directory_selected(self, event: DirectoryTree.DirectorySelected) -> None:
        self.query_one("#path", Input).value = str(event.path)

    def on_input_changed(self, event: Input.Changed) -> None:
        path = Path(event.value).expanduser()
        problem = "" if path.exists() or not self.must_exist else f"{path} does not exist"
        if not event.value.strip():
            problem = "enter a path"
        self.query_one("#problem", Static).update(problem)
        self.query_one("#ok", Button).disabled = bool(problem)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not self.query_one("#ok", Button).disabled:
            self.dismiss(Path(event.value).expanduser())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.dismiss(Path(self.query_one("#path", Input).value).expanduser())
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class DestinationDialog(ModalScreen[str | None]):
    """Pick the directory to move into: the current one's subdirectories, its parent, or a
    typed path (relative to the folder's root)."""

    DEFAULT_CSS = (
        "DestinationDialog { align: center middle; }"
        + DIALOG_CSS
        + """
    DestinationDialog OptionList { height: 10; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str, here: str, subdirs: list[str]) -> None:
        super().__init__()
        self.what, self.here = what, here
        up = str(PurePosixPath(here).parent) if here != "." else None
        self.choices = ([up] if up is not None else []) + [
            str(PurePosixPath(here) / d) for d in subdirs
        ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Move {self.what}", classes="title")
            yield OptionList(*(c if c != "." else ". (the folder's root)" for c in self.choices))
            yield Label("Destination directory:")
            yield Input(self.here, id="dest")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Move", variant="primary", id="ok")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.query_one("#dest", Input).value = self.choices[event.option_index]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or ".")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.dismiss(self.query_one("#dest", Input).value.strip() or ".")
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
