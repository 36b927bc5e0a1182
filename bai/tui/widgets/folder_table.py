"""Provides `FolderTable` (one tab's folders) and `InvitationTable` (pending invitations)."""

from __future__ import annotations

from textual.widgets import DataTable

from bai.api import FolderInfo
from bai.api.sharing import InvitationInfo
from bai.tui.folders import human_size

COLUMNS = ("Name", "ID", "Location", "Status", "Perm", "Type", "Owner", "Mode", "Size")
SORT_BY_COLUMN = {0: "name", 2: "host", 3: "status", 4: "permission", 5: "type", 8: "size"}


class FolderTable(DataTable[str]):
    """Folders, one row each, keyed by the folder's id."""

    def __init__(self, tab: str) -> None:
        super().__init__(id=f"table-{tab}", cursor_type="row", zebra_stripes=True)
        self.tab = tab
        self.folders: dict[str, FolderInfo] = {}

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, folders: list[FolderInfo]) -> None:
        selected = self.selected
        self.clear()
        self.folders = {str(f.id): f for f in folders}
        for f in folders:
            kind = "project" if f.ownership_type.value == "group" else "user"
            self.add_row(
                f.name,
                str(f.id)[:8],
                f.host,
                f.status.value,
                f.permission.value,
                kind,
                "✓" if f.is_owner else "",
                f.usage_mode.value,
                human_size(f.cur_size),
                key=str(f.id),
            )
        if selected is not None and str(selected.id) in self.folders:
            self.move_cursor(row=self.get_row_index(str(selected.id)))

    @property
    def selected(self) -> FolderInfo | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.folders.get(key or "")


class InvitationTable(DataTable[str]):
    def __init__(self) -> None:
        super().__init__(id="table-invitations", cursor_type="row", zebra_stripes=True)
        self.invitations: dict[str, InvitationInfo] = {}

    def on_mount(self) -> None:
        self.add_columns("Folder", "From", "Permission", "Sent")

    def show(self, invitations: list[InvitationInfo]) -> None:
        self.clear()
        self.invitations = {str(i.id): i for i in invitations}
        for i in invitations:
            self.add_row(i.vfolder_name, i.inviter, i.perm, i.created_at[:19], key=str(i.id))

    @property
    def selected(self) -> InvitationInfo | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.invitations.get(key or "")
