"""Provides `StorageScreen`: Storage Status, the folder tabs, the filter box, folder actions."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Static, TabbedContent, TabPane

from bai.api import FolderInfo, HostList, StorageStatus
from bai.api.events import ChangeEventData
from bai.api.sharing import InvitationInfo
from bai.client import BaiClient
from bai.tui.dialogs.common import ConfirmDialog, TextDialog, then
from bai.tui.dialogs.new_folder import NewFolder, NewFolderDialog, name_problem
from bai.tui.dialogs.sftp import SftpDialog
from bai.tui.folders import SORT_KEYS, TAB_TITLES, TABS, FolderQuery, select
from bai.tui.widgets.banner import ConnectionBanner
from bai.tui.widgets.folder_table import SORT_BY_COLUMN, FolderTable, InvitationTable
from bai.tui.widgets.status import StatusPanel

FALLBACK_REFRESH = 30.0  # events do the work; this only covers a node without them
DEBOUNCE = 0.2


class StorageScreen(Screen[None]):
    CSS = """
    #filter { margin: 0 1; }
    #filter-problem { color: $warning; height: auto; padding: 0 2; }
    TabbedContent { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_folder", "New folder"),
        Binding("enter", "explore", "Explore", show=False),
        Binding("e", "explore", "Explore"),
        Binding("r", "rename", "Rename"),
        Binding("d", "trash", "Trash"),
        Binding("R", "restore", "Restore"),
        Binding("X", "delete_forever", "Delete forever"),
        Binding("i", "invite", "Invite"),
        Binding("a", "accept", "Accept"),
        Binding("x", "reject", "Reject"),
        Binding("s", "sftp", "SFTP"),
        Binding("o", "sort", "Sort"),
        Binding("slash", "filter", "Filter"),
        Binding("ctrl+r", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.folders: list[FolderInfo] = []
        self.hosts: HostList | None = None
        self.is_admin = False
        self.query_text = FolderQuery()
        self.sort, self.reverse = "name", False
        self._pending: Timer | None = None

    @property
    def client(self) -> BaiClient:
        return self.app.client  # type: ignore[attr-defined, no-any-return]

    def compose(self) -> ComposeResult:
        yield Header()
        yield ConnectionBanner()
        yield StatusPanel()
        yield Input(
            placeholder="filter: name words, status:ready host:local type:user perm:rw mode:data",
            id="filter",
        )
        yield Static("", id="filter-problem")
        with TabbedContent(id="tabs"):
            for tab in TABS:
                with TabPane(TAB_TITLES[tab], id=f"tab-{tab}"):
                    yield InvitationTable() if tab == "invitations" else FolderTable(tab)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#table-general", FolderTable).focus()  # keys act on folders at once
        if self.app.live:  # type: ignore[attr-defined]
            self.refresh_all()
            self.set_interval(FALLBACK_REFRESH, self.refresh_all)

    # ---- data ----------------------------------------------------------------------------------

    @work(exclusive=True, group="storage-refresh", exit_on_error=False)
    async def refresh_all(self) -> None:
        c = self.client
        folders = await c.folders.list()
        status = await c.hosts.status()
        invitations = await c.sharing.invitations()
        if self.hosts is None:
            self.hosts = await c.hosts.list()
            self.is_admin = bool(await self._admin())
        self.show_data(folders, status, invitations.invitations)

    def show_data(
        self, folders: list[FolderInfo], status: StorageStatus, invitations: list[InvitationInfo]
    ) -> None:
        self.folders = folders
        self.query_one(StatusPanel).show(status)
        self.query_one(InvitationTable).show(invitations)
        title = "Invitations" + (f" ({n})" if (n := len(invitations)) else "")
        self.query_one(TabbedContent).get_tab("tab-invitations").label = title  # type: ignore[assignment]
        self.show_folders()

    async def _admin(self) -> bool:
        try:
            await self.client.hosts.all()  # administrators only
        except Exception:
            return False
        return True

    def show_folders(self) -> None:
        for table in self.query(FolderTable):
            table.show(select(self.folders, table.tab, self.query_text, self.sort, self.reverse))

    def on_change(self, event: ChangeEventData) -> None:
        """A change pushed by the node: refresh once the burst is over."""
        if self._pending is not None:
            self._pending.stop()
        self._pending = self.set_timer(DEBOUNCE, self.refresh_all)

    # ---- selection -----------------------------------------------------------------------------

    def _tab(self) -> str:
        return (self.query_one(TabbedContent).active or "tab-general").removeprefix("tab-")

    def _folder(self) -> FolderInfo | None:
        tab = self._tab()
        if tab == "invitations":
            return None
        folder = self.query_one(f"#table-{tab}", FolderTable).selected
        if folder is None:
            self.notify("no folder selected in this tab", severity="warning")
        return folder

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_text = FolderQuery.parse(event.value)
        self.query_one("#filter-problem", Static).update(self.query_text.problem)
        self.show_folders()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(f"#table-{self._tab()}", DataTable).focus()

    @on(DataTable.HeaderSelected)
    def _sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        key = SORT_BY_COLUMN.get(event.column_index)
        if key:
            self.reverse = not self.reverse if key == self.sort else False
            self.sort = key
            self.show_folders()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if isinstance(event.data_table, FolderTable) and event.data_table.tab != "trash":
            self.action_explore()

    # ---- actions -------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_refresh(self) -> None:
        self.refresh_all()

    def action_sort(self) -> None:
        keys = list(SORT_KEYS)
        self.sort = keys[(keys.index(self.sort) + 1) % len(keys)]
        self.notify(f"sorted by {self.sort}", timeout=2)
        self.show_folders()

    def action_new_folder(self) -> None:
        if self.hosts is None:
            self.notify("still loading the node's hosts; try again in a moment")
            return
        self.app.push_screen(NewFolderDialog(self.hosts, admin=self.is_admin), then(self._create))

    @work(group="folder-action", exit_on_error=False)
    async def _create(self, new: NewFolder | None) -> None:
        if new is None:
            return
        folder = await self.client.folders.create(
            new.name,
            new.host,
            group=new.group,
            usage_mode=new.usage_mode,
            permission=new.permission,
            cloneable=new.cloneable,
        )
        self.notify(f"folder {folder.name} is created on {folder.host}")
        self.refresh_all()

    def action_explore(self) -> None:
        from bai.tui.screens.explorer import ExplorerScreen

        folder = self._folder()
        if folder is not None:
            self.app.push_screen(ExplorerScreen(folder))

    def action_rename(self) -> None:
        if (folder := self._folder()) is None:
            return

        dialog = TextDialog(
            f"Rename folder {folder.name}",
            "New name",
            value=folder.name,
            ok="Update",
            validate=name_problem,
        )
        self.app.push_screen(dialog, then(partial(self._rename, folder)))

    @work(group="folder-action", exit_on_error=False)
    async def _rename(self, folder: FolderInfo, new: str | None) -> None:
        if new and new != folder.name:
            await self.client.folders.rename(str(folder.id), new)
            self.notify(f"renamed {folder.name} to {new}")
            self.refresh_all()

    def action_trash(self) -> None:
        if (folder := self._folder()) is None:
            return
        dialog = ConfirmDialog(
            "Move to trash",
            f"Move folder {folder.name!r} to the trash? You can restore it from the Trash tab.",
            ok="Move to trash",
        )
        self.app.push_screen(dialog, then(lambda ok: self._folder_call(ok, "delete", folder)))

    def action_restore(self) -> None:
        if (folder := self._folder()) is None:
            return
        dialog = ConfirmDialog("Restore", f"Restore folder {folder.name!r}?", ok="Restore")
        self.app.push_screen(dialog, then(lambda ok: self._folder_call(ok, "restore", folder)))

    def action_delete_forever(self) -> None:
        if (folder := self._folder()) is None:
            return
        if folder.status.value != "delete-pending":
            self.notify("only folders in the trash can be deleted forever; move it there first")
            return
        dialog = ConfirmDialog(
            "Delete forever",
            f"Folder {folder.name!r} and all its files will be deleted; this cannot be undone.",
            ok="Delete forever",
            typed=folder.name,
        )
        self.app.push_screen(
            dialog, then(lambda ok: self._folder_call(ok, "delete_forever", folder))
        )

    @work(group="folder-action", exit_on_error=False)
    async def _folder_call(self, ok: bool | None, what: str, folder: FolderInfo) -> None:
        if not ok:
            return
        api = self.client.folders
        ident = str(folder.id)
        if what == "delete":
            await api.delete(ident)
            self.notify(f"moved {folder.name} to the trash")
        elif what == "restore":
            await api.restore(ident)
            self.notify(f"restored {folder.name}")
        else:
            await api.delete_forever(ident)
            self.notify(f"deleting {folder.name} forever")
        self.refresh_all()

    def action_invite(self) -> None:
        if (folder := self._folder()) is None:
            return

        dialog = TextDialog(
            f"Invite to {folder.name}",
            "E-mail addresses (read-write)",
            ok="Invite",
            validate=lambda v: "" if "@" in v else "enter at least one e-mail address",
        )
        self.app.push_screen(dialog, then(partial(self._invite, folder)))

    @work(group="folder-action", exit_on_error=False)
    async def _invite(self, folder: FolderInfo, emails: str | None) -> None:
        if emails:
            wanted = [e for e in emails.replace(",", " ").split() if e]
            done = await self.client.sharing.invite(str(folder.id), wanted, "rw")
            self.notify(f"invited {', '.join(done.invited_ids)} to {folder.name} (rw)")

    def _invitation_id(self) -> str | None:
        if self._tab() != "invitations":
            self.notify("open the Invitations tab to answer an invitation", severity="warning")
            return None
        inv = self.query_one(InvitationTable).selected
        if inv is None:
            self.notify("no pending invitation", severity="warning")
        return None if inv is None else str(inv.id)

    def action_accept(self) -> None:
        if (inv := self._invitation_id()) is not None:
            self._answer(inv, True)

    def action_reject(self) -> None:
        if (inv := self._invitation_id()) is not None:
            self._answer(inv, False)

    @work(group="folder-action", exit_on_error=False)
    async def _answer(self, inv_id: str, accept: bool) -> None:
        if accept:
            await self.client.sharing.accept(inv_id)
        else:
            await self.client.sharing.delete_invitation(inv_id)
        self.notify("invitation accepted" if accept else "invitation rejected")
        self.refresh_all()

    def action_sftp(self) -> None:
        if (folder := self._folder()) is not None:
            self.app.push_screen(SftpDialog(self.client, folder.name))
