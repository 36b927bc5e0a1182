"""Snapshot tests (pytest-textual-snapshot) of the storage page, each dialog and the
explorer at a fixed terminal size, drawn from fixed records (`tests/tui/fixed.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from bai.client import ClientConfig
from bai.tui.app import BaiApp
from bai.tui.dialogs.common import ConfirmDialog, TextDialog
from bai.tui.dialogs.new_folder import NewFolderDialog
from bai.tui.dialogs.pickers import DestinationDialog
from bai.tui.dialogs.sftp import SftpDialog
from bai.tui.screens.explorer import ExplorerScreen
from bai.tui.screens.storage import StorageScreen
from tests.tui import fixed

SIZE = (130, 40)
# Never contacted: the app runs offline (`live=False`) and shows the fixed records.
OFFLINE = ClientConfig("http://127.0.0.1:9", "AKIAFIXED", "secret")


def app() -> BaiApp:
    return BaiApp(OFFLINE, live=False)


async def storage_page(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, StorageScreen)
    screen.hosts = fixed.HOSTS
    screen.show_data(fixed.FOLDERS, fixed.STATUS, fixed.INVITATIONS)
    for box in screen.query(Input):
        box.cursor_blink = False
    await pilot.pause()


def with_dialog(make: Any) -> Any:
    async def run(pilot: Pilot[Any]) -> None:
        await storage_page(pilot)
        await pilot.app.push_screen(make())
        await pilot.pause()
        # A blinking cursor would make the shot depend on when it is taken.
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()

    return run


def test_storage_page(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=storage_page)


def test_trash_tab(snap_compare: Any) -> None:
    async def trash(pilot: Pilot[Any]) -> None:
        await storage_page(pilot)
        pilot.app.screen.query_one("#tabs").active = "tab-trash"  # type: ignore[attr-defined]
        await pilot.pause()

    assert snap_compare(app(), terminal_size=SIZE, run_before=trash)


@pytest.mark.parametrize(
    "name",
    ["new_folder", "rename", "trash", "delete_forever", "invite", "sftp", "move"],
)
def test_dialog(snap_compare: Any, name: str) -> None:
    dialogs = {
        "new_folder": lambda: NewFolderDialog(fixed.HOSTS, admin=True),
        "rename": lambda: TextDialog("Rename folder notebooks", "New name", value="notebooks"),
        "trash": lambda: ConfirmDialog("Move to trash", "Move folder 'notebooks' to the trash?"),
        "delete_forever": lambda: ConfirmDialog(
            "Delete forever", "This cannot be undone.", ok="Delete forever", typed="old-results"
        ),
        "invite": lambda: TextDialog("Invite to notebooks", "E-mail addresses (read-write)"),
        "sftp": lambda: SftpDialog(app().client, "datasets", started=fixed.SFTP),
        "move": lambda: DestinationDialog("train.csv", "data", ["images", "labels"]),
    }
    assert snap_compare(app(), terminal_size=SIZE, run_before=with_dialog(dialogs[name]))


async def explorer(pilot: Pilot[Any]) -> None:
    await storage_page(pilot)
    screen = ExplorerScreen(fixed.FOLDERS[0], "data")
    await pilot.app.push_screen(screen)
    await pilot.pause()
    screen.show_entries(list(fixed.ENTRIES))
    await pilot.pause()


def test_explorer(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=SIZE, run_before=explorer)


def test_screenshots_for_the_readme(tmp_path: Path) -> None:
    """The README's SVGs come from the app itself (regenerated with BAI_WRITE_DOCS=1)."""
    import asyncio
    import os

    docs = Path(__file__).resolve().parents[2] / "docs"
    out = docs if os.environ.get("BAI_WRITE_DOCS") else tmp_path

    async def shoot() -> None:
        for name, setup in (("tui-storage.svg", storage_page), ("tui-explorer.svg", explorer)):
            a = app()
            async with a.run_test(size=SIZE) as pilot:
                await setup(pilot)
                a.save_screenshot(filename=name, path=str(out))

    asyncio.run(shoot())
    for name in ("tui-storage.svg", "tui-explorer.svg"):
        text = (out / name).read_text()
        assert text.startswith("<svg") and "datasets" in text
