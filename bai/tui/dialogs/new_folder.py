"""Provides `NewFolderDialog`: the web UI's folder creation dialog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from bai.api import HostList
from bai.tui.dialogs.common import DIALOG_CSS
from bai.tui.folders import human_size

MAX_NAME = 64


def name_problem(name: str) -> str:
    """What the node would refuse in a folder name (it checks again; this is for typing)."""
    if not name:
        return "enter a folder name"
    if len(name) > MAX_NAME:
        return f"{len(name)} characters; the limit is {MAX_NAME}"
    if name != name.strip():
        return "no spaces at the start or the end"
    if "/" in name or "\\" in name:
        return "no '/' or '\\' in a folder name"
    if name in (".", ".."):
        return f"{name!r} is not a folder name"
    return ""


@dataclass(frozen=True)
class NewFolder:
    name: str
    host: str
    group: str | None
    usage_mode: str
    permission: str
    cloneable: bool


class NewFolderDialog(ModalScreen[NewFolder | None]):
    DEFAULT_CSS = (
        "NewFolderDialog { align: center middle; }"
        + DIALOG_CSS
        + """
    NewFolderDialog Horizontal.row { height: auto; }
    NewFolderDialog .row Label { width: 14; padding-top: 1; }
    NewFolderDialog .row Select, NewFolderDialog .row Input { width: 1fr; }
    NewFolderDialog #counter { width: 8; padding-top: 1; text-align: right; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, hosts: HostList, *, admin: bool) -> None:
        super().__init__()
        self.hosts = hosts
        self.admin = admin

    def _least_used(self) -> str:
        usable = [h for h in self.hosts.allowed if h in self.hosts.volume_info]
        if not usable:
            return self.hosts.default
        return min(usable, key=lambda h: self.hosts.volume_info[h].usage.percentage)

    def compose(self) -> ComposeResult:
        hosts = [(h, h) for h in self.hosts.allowed]
        with Vertical(classes="dialog"):
            yield Static("New folder", classes="title")
            with Horizontal(classes="row"):
                yield Label("Folder name")
                yield Input(placeholder="up to 64 characters", id="name")
                yield Static(f"0/{MAX_NAME}", id="counter")
            yield Static("enter a folder name", classes="problem", id="problem")
            with Horizontal(classes="row"):
                yield Label("Host")
                yield Select(hosts, value=self._least_used(), allow_blank=False, id="host")
            yield Static("", id="capacity")
            if self.admin:
                with Horizontal(classes="row"):
                    yield Label("Type")
                    yield Select(
                        [("User", "user"), ("Project", "project")],
                        value="user",
                        allow_blank=False,
                        id="type",
                    )
                with Horizontal(classes="row"):
                    yield Label("Project")
                    yield Input(placeholder="project name (project folders)", id="project")
            with Horizontal(classes="row"):
                yield Label("Usage mode")
                modes = [("General", "general"), ("Data", "data"), ("Model", "model")]
                yield Select(modes, value="general", allow_blank=False, id="mode")
            with Horizontal(classes="row"):
                yield Label("Permission")
                perms = [("Read-Write", "rw"), ("Read-Only", "ro"), ("Delete", "wd")]
                yield Select(perms, value="rw", allow_blank=False, id="permission")
            yield Checkbox("Cloneable", id="cloneable")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create", variant="primary", id="ok", disabled=True)

    def on_mount(self) -> None:
        self._show_capacity()
        self.query_one("#name", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._validate()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._show_capacity()
        self._validate()

    def _validate(self) -> None:
        name = self.query_one("#name", Input).value
        self.query_one("#counter", Static).update(f"{len(name)}/{MAX_NAME}")
        problem = name_problem(name)
        if not problem and self._type() == "project" and not self._project():
            problem = "a project folder needs its project"
        self.query_one("#problem", Static).update(problem)
        self.query_one("#ok", Button).disabled = bool(problem)

    def _show_capacity(self) -> None:
        host = str(self.query_one("#host", Select).value)
        info = self.hosts.volume_info.get(host)
        text = ""
        if info is not None:
            u = info.usage
            free = max(u.capacity_bytes - u.used_bytes, 0)
            bar = "█" * round(u.percentage / 10) + "░" * (10 - round(u.percentage / 10))
            text = f"{bar} {u.percentage:.0f}% used · {human_size(free)} free ({info.backend})"
        self.query_one("#capacity", Static).update(text)

    def _type(self) -> str:
        return str(self.query_one("#type", Select).value) if self.admin else "user"

    def _project(self) -> str:
        return self.query_one("#project", Input).value.strip() if self.admin else ""

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not self.query_one("#ok", Button).disabled:
            self._create()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._create()
        else:
            self.dismiss(None)

    def _create(self) -> None:
        self.dismiss(
            NewFolder(
                name=self.query_one("#name", Input).value,
                host=str(self.query_one("#host", Select).value),
                group=self._project() if self._type() == "project" else None,
                usage_mode=str(self.query_one("#mode", Select).value),
                permission=str(self.query_one("#permission", Select).value),
                cloneable=self.query_one("#cloneable", Checkbox).value,
            )
        )

    def action_cancel(self) -> None:
        self.dismiss(None)
