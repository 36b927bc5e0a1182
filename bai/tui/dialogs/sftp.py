"""Provides `SftpDialog`: "Run SFTP server" — connection details, the key, a stop button."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from bai.api import SftpSessionStarted
from bai.client import BaiClient
from bai.client.sftp import default_key_path, write_private_key
from bai.errors import BaiError
from bai.tui.dialogs.common import DIALOG_CSS


def example_commands(started: SftpSessionStarted, key: Path) -> str:
    c = started.connection
    target = f"{c.user}@{c.host}"
    return (
        f"sftp -i {key} -P {c.port} {target}\n"
        f"scp -i {key} -P {c.port} -r ./data {target}:/{started.session.folders[0].name}/\n"
        f'rsync -av -e "ssh -i {key} -p {c.port}" ./data {target}:'
        f"/{started.session.folders[0].name}/"
    )


class SftpDialog(ModalScreen[None]):
    DEFAULT_CSS = (
        "SftpDialog { align: center middle; }"
        + DIALOG_CSS
        + """
    SftpDialog .dialog { width: 96; }
    SftpDialog #commands { background: $boost; padding: 0 1; margin: 1 0; }
    SftpDialog Horizontal.row { height: auto; }
    SftpDialog .row Input { width: 1fr; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(
        self, client: BaiClient, folder: str, started: SftpSessionStarted | None = None
    ) -> None:
        super().__init__()
        self.client = client
        self.folder = folder
        self.started = started  # given: show this session instead of starting one

    def compose(self) -> ComposeResult:
        key = default_key_path(self.client.config.access_key)
        with Vertical(classes="dialog"):
            yield Static(f"SSH / SFTP connection — {self.folder}", classes="title")
            yield Static("Starting an SFTP session…", id="details")
            yield Label("Private key (saved readable by you only):")
            with Horizontal(classes="row"):
                yield Input(str(key), id="key-path")
                yield Button("Save key", id="save")
            yield Static("", id="key-note")
            yield Static("", id="commands")
            with Horizontal(classes="buttons"):
                yield Button("Stop session", variant="error", id="stop", disabled=True)
                yield Button("Close", variant="primary", id="close")

    def on_mount(self) -> None:
        if self.started is None:
            self.start()
        else:
            self.show(self.started)

    @work(exclusive=True, group="sftp", exit_on_error=False)
    async def start(self) -> None:
        self.show(await self.client.sftp.start([self.folder]))

    def show(self, started: SftpSessionStarted) -> None:
        self.started = started
        c, s = started.connection, started.session
        self.query_one("#details", Static).update(
            f"Host: {c.host}    Port: {c.port}    User: {c.user}\n"
            f"Host key: {c.host_key_fingerprint}\n"
            f"Session {str(s.id)[:8]} ({'reused' if started.reused else 'new'}), ends after "
            f"{s.idle_timeout:.0f} s without transfers"
        )
        self.query_one("#stop", Button).disabled = False
        self._show_commands()

    def _key_path(self) -> Path:
        return Path(self.query_one("#key-path", Input).value).expanduser()

    def _show_commands(self) -> None:
        if self.started is not None:
            self.query_one("#commands", Static).update(
                example_commands(self.started, self._key_path())
            )

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show_commands()

    @work(exclusive=True, group="sftp-key", exit_on_error=False)
    async def save_key(self) -> None:
        note = self.query_one("#key-note", Static)
        path = self._key_path()
        try:
            info = await self.client.ssh_keypair.get()
            if info.private_key_downloadable:
                key = await self.client.ssh_keypair.download()
                write_private_key(path, key.ssh_private_key, overwrite=True)
                note.update(f"saved to {path} ({key.fingerprint})")
            elif info.ssh_public_key is None:
                issued = await self.client.ssh_keypair.generate()
                write_private_key(path, issued.ssh_private_key, overwrite=True)
                note.update(f"generated a keypair; saved to {path} ({issued.fingerprint})")
            else:
                note.update(
                    "the node handed this key out already (or it is your own); use the key "
                    "you saved then, or generate a new one with `bai ssh-keypair generate`"
                )
        except BaiError as e:
            note.update(f"[red]{e.msg}[/]")

    @work(exclusive=True, group="sftp", exit_on_error=False)
    async def stop(self) -> None:
        if self.started is not None:
            await self.client.sftp.stop(self.started.session.id)
            self.query_one("#details", Static).update("Session stopped.")
            self.query_one("#stop", Button).disabled = True
            self.started = None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.save_key()
        elif event.button.id == "stop":
            self.stop()
        else:
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
