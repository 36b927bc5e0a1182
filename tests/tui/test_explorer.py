"""Pilot tests of the explorer against a real node: browse, upload (a tree), download,
rename, move, delete, read-only folders, and a file written by another client appearing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from bai.client import BaiClient, ClientConfig
from bai.tui.app import BaiApp
from bai.tui.dialogs.common import ConfirmDialog, TextDialog
from bai.tui.dialogs.pickers import DestinationDialog, LocalPathDialog
from bai.tui.screens.explorer import ExplorerScreen
from bai.tui.widgets.folder_table import FolderTable
from tests.harness import NodeProcess
from tests.tui.conftest import new_user
from tests.tui.helpers import column, until

pytestmark = pytest.mark.node
SIZE = (140, 44)


async def open_explorer(app: BaiApp, pilot, name: str) -> DataTable[str]:  # type: ignore[no-untyped-def]
    table = app.screen.query_one("#table-general", FolderTable)
    await until(pilot, lambda: name in column(table))
    table.focus()
    table.move_cursor(row=column(table).index(name))
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, ExplorerScreen))
    return app.screen.query_one("#files", DataTable)


def names(files: DataTable[str]) -> list[str]:
    return column(files, 1)


async def test_explore_upload_download_rename_move_delete(
    user: ClientConfig, local_dir: Path, tmp_path: Path
) -> None:
    tree = local_dir / "proj"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "main.py").write_text("print('hi')\n")
    (tree / "README").write_text("readme\n")
    async with BaiClient(user) as c:
        await c.folders.create("work")
    app = BaiApp(user)
    async with app.run_test(size=SIZE) as pilot:
        files = await open_explorer(app, pilot, "work")
        # Upload a whole local directory: the tree is kept.
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, LocalPathDialog))
        app.screen.query_one("#path", Input).value = str(tree)
        await pilot.click("#ok")
        await until(pilot, lambda: names(files) == ["proj"])
        await pilot.press("enter")  # into proj
        await until(pilot, lambda: names(files) == ["src", "README"])
        # New directory, then move README into it.
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, TextDialog))
        app.screen.query_one(Input).value = "docs"
        await pilot.press("enter")
        await until(pilot, lambda: names(files) == ["docs", "src", "README"])
        files.move_cursor(row=2)
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, DestinationDialog))
        app.screen.query_one(Input).value = "proj/docs"
        await pilot.click("#ok")
        await until(pilot, lambda: names(files) == ["docs", "src"])
        # Rename a directory.
        files.move_cursor(row=1)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TextDialog))
        app.screen.query_one(Input).value = "code"
        await pilot.press("enter")
        await until(pilot, lambda: names(files) == ["code", "docs"])
        # Download a directory (as a zip, unpacked) into a local path.
        out = tmp_path / "out"
        files.move_cursor(row=0)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, LocalPathDialog))
        app.screen.query_one("#path", Input).value = str(out)
        await pilot.click("#ok")
        await until(pilot, lambda: (out / "code" / "main.py").exists())
        assert (out / "code" / "main.py").read_text() == "print('hi')\n"
        # Multi-select and delete with confirmation.
        await pilot.press("space", "space")
        assert app.screen.marked == {"code", "docs"}  # type: ignore[attr-defined]
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#ok")
        await until(pilot, lambda: names(files) == [])
        await pilot.press("backspace")
        await until(pilot, lambda: names(files) == ["proj"])
    async with BaiClient(user) as c:
        assert [e.name for e in await c.files.ls("work", "proj")] == []


async def test_file_from_another_client_appears_within_two_seconds(
    user: ClientConfig, local_dir: Path
) -> None:
    async with BaiClient(user) as c:
        await c.folders.create("live")
    app = BaiApp(user)
    async with app.run_test(size=SIZE) as pilot:
        files = await open_explorer(app, pilot, "live")
        await until(pilot, lambda: "entries" in str(app.screen.query_one("#crumbs").render()))
        src = local_dir / "from-elsewhere.txt"
        src.write_text("x" * 100)
        async with BaiClient(user) as other:
            await other.files.upload("live", src, "from-elsewhere.txt")
        await until(pilot, lambda: names(files) == ["from-elsewhere.txt"], timeout=2.0)


async def test_read_only_folder_disables_changes_and_says_why(
    tui_node: NodeProcess, user: ClientConfig
) -> None:
    email = f"ro{uuid.uuid4().hex[:6]}@example.org"
    guest = await new_user(tui_node, email)
    async with BaiClient(user) as c:
        await c.folders.create("ro-folder")
        await c.sharing.invite("ro-folder", [email], "ro")
    async with BaiClient(guest) as g:
        pending = (await g.sharing.invitations()).invitations
        await g.sharing.accept(str(pending[0].id))
    app = BaiApp(guest)
    async with app.run_test(size=SIZE) as pilot:
        await open_explorer(app, pilot, "ro-folder")
        screen = app.screen
        assert isinstance(screen, ExplorerScreen)
        assert "read-only" in str(screen.query_one("#why", Static).render())
        for action in ("upload", "mkdir", "rename", "move", "delete"):
            assert screen.check_action(action, ()) is None, action
        assert screen.check_action("download", ()) is True
        await pilot.press("u")  # a disabled key does nothing
        await pilot.pause()
        assert isinstance(app.screen, ExplorerScreen)
