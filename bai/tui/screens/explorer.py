"""Provides `ExplorerScreen`: the files of one folder — browse, transfer, change."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path, PurePosixPath
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Static

from bai.api import FileEntry, FolderInfo
from bai.api.events import ChangeEventData
from bai.client import BaiClient
from bai.tui.dialogs.common import ConfirmDialog, TextDialog, then
from bai.tui.dialogs.pickers import DestinationDialog, LocalPathDialog
from bai.tui.dialogs.sftp import SftpDialog
from bai.tui.folders import human_size
from bai.tui.widgets.banner import ConnectionBanner
from bai.tui.widgets.transfers import TransferRow

WRITE_ACTIONS = {"mkdir", "upload", "rename", "move"}
DEBOUNCE = 0.2


def why_read_only(folder: FolderInfo) -> str:
    """Why this folder's files cannot be changed, or "" when they can."""
    status = folder.status.value
    if status.startswith("delete"):
        return f"folder is {status} (deletion in progress or in the trash): files are read-only"
    if status not in ("ready", "mounted"):
        return f"folder is {status}: files cannot be changed until it is ready"
    if folder.permission.value == "ro":
        return "read-only: your permission on this folder is ro"
    return ""


class ExplorerScreen(Screen[None]):
    CSS = """
    #crumbs { padding: 0 1; background: $boost; }
    #why { color: $warning; padding: 0 1; height: auto; }
    #files { height: 1fr; }
    #transfers { height: auto; max-height: 8; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("backspace", "up", "Up"),
        Binding("m", "mkdir", "New dir"),
        Binding("u", "upload", "Upload"),
        Binding("g", "download", "Download"),
        Binding("r", "rename", "Rename"),
        Binding("v", "move", "Move"),
        Binding("d", "delete", "Delete"),
        Binding("space", "mark", "Select"),
        Binding("s", "sftp", "SFTP"),
        Binding("c", "cancel", "Cancel transfers"),
        Binding("ctrl+r", "reload", "Refresh"),
    ]

    def __init__(self, folder: FolderInfo, path: str = ".") -> None:
        super().__init__()
        self.folder = folder
        self.path = path
        self.entries: dict[str, FileEntry] = {}
        self.marked: set[str] = set()
        self._pending: Timer | None = None
        self.why = why_read_only(folder)

    @property
    def client(self) -> BaiClient:
        return self.app.client  # type: ignore[attr-defined, no-any-return]

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield Static(self.folder.name, id="crumbs")
        yield Static(self.why, id="why")
        yield DataTable(id="files", cursor_type="row", zebra_stripes=True)
        yield VerticalScroll(id="transfers")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#why", Static).display = bool(self.why)
        self.query_one(DataTable).add_columns(" ", "Name", "Type", "Size", "Modified")
        if self.app.live:  # type: ignore[attr-defined]
            self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in WRITE_ACTIONS and self.why:
            return None  # shown disabled; `#why` says why
        if action == "delete" and (self.why or self.folder.permission.value != "wd"):
            return None
        return True

    # ---- listing -------------------------------------------------------------------------------

    @work(exclusive=True, group="explorer-list", exit_on_error=False)
    async def reload(self) -> None:
        self.show_entries(await self.client.files.ls(str(self.folder.id), self.path))

    def show_entries(self, entries: list[FileEntry]) -> None:
        entries.sort(key=lambda e: (e.type != "DIRECTORY", e.name.lower()))
        self.entries = {e.name: e for e in entries}
        self.marked &= set(self.entries)
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for e in entries:
            mark = "●" if e.name in self.marked else " "
            kind = "dir" if e.type == "DIRECTORY" else e.type.lower()
            size = "" if e.type == "DIRECTORY" else human_size(e.size)
            table.add_row(mark, e.name, kind, size, e.modified[:19].replace("T", " "), key=e.name)
        if entries:
            table.move_cursor(row=min(cursor, len(entries) - 1))
        crumbs = " / ".join([self.folder.name, *PurePosixPath(self.path).parts])
        self.query_one("#crumbs", Static).update(f"{crumbs}   ({len(entries)} entries)")

    def on_change(self, event: ChangeEventData) -> None:
        if event.folder_id not in (None, self.folder.id):
            return
        if event.kind == "files" and event.path not in (None, self.path):
            return  # another directory of this folder
        if self._pending is not None:
            self._pending.stop()
        self._pending = self.set_timer(DEBOUNCE, self.reload)

    def _rel(self, name: str) -> str:
        return str(PurePosixPath(self.path) / name)

    def _current(self) -> FileEntry | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.entries.get(key or "")

    def _targets(self) -> list[FileEntry]:
        """The marked entries, else the one under the cursor."""
        if self.marked:
            return [self.entries[n] for n in sorted(self.marked) if n in self.entries]
        entry = self._current()
        return [entry] if entry is not None else []

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        entry = self._current()
        if entry is not None and entry.type == "DIRECTORY":
            self.path = self._rel(entry.name)
            self.marked.clear()
            self.reload()

    # ---- actions -------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.reload()

    def action_up(self) -> None:
        if self.path != ".":
            self.path = str(PurePosixPath(self.path).parent)
            self.marked.clear()
            self.reload()

    def action_mark(self) -> None:
        entry = self._current()
        if entry is None:
            return
        self.marked ^= {entry.name}
        table = self.query_one(DataTable)
        table.update_cell(
            entry.name, table.ordered_columns[0].key, "●" if entry.name in self.marked else " "
        )
        table.action_cursor_down()

    def action_mkdir(self) -> None:
        dialog = TextDialog("New directory", f"Name (in {self.path})", ok="Create")
        self.app.push_screen(dialog, then(self._mkdir))

    @work(group="explorer-action", exit_on_error=False)
    async def _mkdir(self, name: str | None) -> None:
        if name:
            await self.client.files.mkdir(str(self.folder.id), [self._rel(name)])
            self.reload()

    def action_upload(self) -> None:
        dialog = LocalPathDialog(
            f"Upload into {self.folder.name}/{self.path}", Path.cwd(), must_exist=True, ok="Upload"
        )
        self.app.push_screen(dialog, then(self._upload))

    @work(group="transfers", exit_on_error=False)
    async def _upload(self, local: Path | None) -> None:
        if local is None:
            return
        pairs: list[tuple[Path, str]] = []
        if local.is_dir():  # the whole tree, under the directory's own name
            for root, _dirs, files in os.walk(local):
                for f in sorted(files):
                    p = Path(root) / f
                    pairs.append(
                        (p, self._rel(str(PurePosixPath(local.name, *p.relative_to(local).parts))))
                    )
        else:
            pairs.append((local, self._rel(local.name)))
        for src, remote in pairs:
            row = TransferRow(f"↑ {remote}")
            await self.query_one("#transfers").mount(row)
            try:
                await self.client.files.upload(str(self.folder.id), src, remote, progress=row)
            finally:
                await row.remove()
        self.notify(f"uploaded {len(pairs)} file(s)")
        self.reload()

    def action_download(self) -> None:
        targets = self._targets()
        if not targets:
            return
        dialog = LocalPathDialog("Download into", Path.cwd(), must_exist=False, ok="Download")
        self.app.push_screen(dialog, then(partial(self._download, targets)))

    @work(group="transfers", exit_on_error=False)
    async def _download(self, targets: list[FileEntry], base: Path | None) -> None:
        if base is None:
            return
        for entry in targets:
            row = TransferRow(f"↓ {entry.name}")
            await self.query_one("#transfers").mount(row)
            try:
                got = await self.client.files.fetch(
                    str(self.folder.id), self._rel(entry.name), base, progress=row
                )
            finally:
                await row.remove()
            self.notify(f"downloaded {entry.name} to {got.path}")

    def action_cancel(self) -> None:
        running = [w for w in self.workers if w.group == "transfers" and w.is_running]
        for w in running:
            w.cancel()
        self.query_one("#transfers").remove_children()
        self.notify(f"cancelled {len(running)} transfer(s)" if running else "no transfer running")

    def action_rename(self) -> None:
        entry = self._current()
        if entry is None:
            return
        dialog = TextDialog(f"Rename {entry.name}", "New name", value=entry.name, ok="Rename")
        self.app.push_screen(dialog, then(partial(self._rename, entry)))

    @work(group="explorer-action", exit_on_error=False)
    async def _rename(self, entry: FileEntry, new: str | None) -> None:
        if new and new != entry.name:
            await self.client.files.rename(str(self.folder.id), self._rel(entry.name), new)
            self.reload()

    def action_move(self) -> None:
        targets = self._targets()
        if not targets:
            return
        subdirs = [n for n, e in self.entries.items() if e.type == "DIRECTORY" and e not in targets]
        what = targets[0].name if len(targets) == 1 else f"{len(targets)} entries"
        self.app.push_screen(
            DestinationDialog(what, self.path, subdirs), then(partial(self._move, targets))
        )

    @work(group="explorer-action", exit_on_error=False)
    async def _move(self, targets: list[FileEntry], dest: str | None) -> None:
        if dest is None:
            return
        for entry in targets:
            await self.client.files.move(str(self.folder.id), self._rel(entry.name), dest)
        self.marked.clear()
        self.notify(f"moved {len(targets)} entr{'y' if len(targets) == 1 else 'ies'} to {dest}")
        self.reload()

    def action_delete(self) -> None:
        targets = self._targets()
        if not targets:
            return
        names = ", ".join(e.name for e in targets[:5]) + (" …" if len(targets) > 5 else "")
        dialog = ConfirmDialog("Delete", f"Delete {names}? This cannot be undone.", ok="Delete")
        self.app.push_screen(dialog, then(partial(self._delete, targets)))

    @work(group="explorer-action", exit_on_error=False)
    async def _delete(self, targets: list[FileEntry], ok: bool | None) -> None:
        if ok:
            paths = [self._rel(e.name) for e in targets]
            await self.client.files.delete(str(self.folder.id), paths, recursive=True)
            self.marked.clear()
            self.reload()

    def action_sftp(self) -> None:
        self.app.push_screen(SftpDialog(self.client, self.folder.name))
