"""Pilot tests of the storage page against a real node: create, filter, rename, trash,
restore, delete forever, invitations, SFTP."""

from __future__ import annotations

import uuid

import pytest
from textual.widgets import Button, Input, Static, TabbedContent

from bai.client import BaiClient, ClientConfig
from bai.tui.app import BaiApp
from bai.tui.dialogs.common import ConfirmDialog, TextDialog
from bai.tui.dialogs.new_folder import NewFolderDialog
from bai.tui.dialogs.sftp import SftpDialog
from bai.tui.widgets.folder_table import FolderTable, InvitationTable
from tests.harness import NodeProcess
from tests.tui.conftest import new_user
from tests.tui.helpers import column, until

pytestmark = pytest.mark.node
SIZE = (140, 44)


def table(app: BaiApp, tab: str) -> FolderTable:
    return app.screen.query_one(f"#table-{tab}", FolderTable)


async def test_create_with_validation_then_filter(user: ClientConfig) -> None:
    app = BaiApp(user)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.hosts is not None)  # type: ignore[attr-defined]
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewFolderDialog))
        dialog = app.screen
        ok = dialog.query_one("#ok", Button)
        assert ok.disabled  # an empty name
        await pilot.press(*"bad/name")
        assert ok.disabled
        assert "'/'" in str(dialog.query_one("#problem", Static).render())
        dialog.query_one("#name", Input).value = "x" * 65
        await pilot.pause()
        assert ok.disabled and "65/64" in str(dialog.query_one("#counter", Static).render())
        dialog.query_one("#name", Input).value = "alpha"
        await pilot.pause()
        assert not ok.disabled and "5/64" in str(dialog.query_one("#counter", Static).render())
        await pilot.click("#ok")
        await until(pilot, lambda: "alpha" in column(table(app, "general")))
        async with BaiClient(user) as c:
            await c.folders.create("beta")
            await c.folders.create(".auto")
        # Created by another client: the table shows it without a keypress.
        await until(pilot, lambda: "beta" in column(table(app, "general")), timeout=3)
        # The two creations are two events: the second may land a refresh later.
        await until(pilot, lambda: column(table(app, "automount")) == [".auto"], timeout=3)
        app.screen.query_one("#filter", Input).value = "alp"
        await until(pilot, lambda: column(table(app, "general")) == ["alpha"])
        app.screen.query_one("#filter", Input).value = "status:ready"
        await until(pilot, lambda: column(table(app, "general")) == ["alpha", "beta"])
        app.screen.query_one("#filter", Input).value = "bogus:1"
        await pilot.pause()
        assert "unknown filter" in str(app.screen.query_one("#filter-problem", Static).render())


async def test_rename_trash_restore_delete_forever(user: ClientConfig) -> None:
    async with BaiClient(user) as c:
        await c.folders.create("gamma")
    app = BaiApp(user)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: column(table(app, "general")) == ["gamma"])
        table(app, "general").focus()
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TextDialog))
        app.screen.query_one(Input).value = "delta"
        await pilot.press("enter")
        await until(pilot, lambda: column(table(app, "general")) == ["delta"])
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#ok")
        await until(pilot, lambda: column(table(app, "trash")) == ["delta"])
        assert column(table(app, "general")) == []
        app.screen.query_one(TabbedContent).active = "tab-trash"
        await pilot.pause()
        table(app, "trash").focus()
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.click("#ok")
        await until(pilot, lambda: column(table(app, "general")) == ["delta"])
        async with BaiClient(user) as c:
            await c.folders.delete("delta")
        await until(pilot, lambda: column(table(app, "trash")) == ["delta"])
        table(app, "trash").focus()
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        ok = app.screen.query_one("#ok", Button)
        assert ok.disabled
        app.screen.query_one("#typed", Input).value = "delt"
        await pilot.pause()
        assert ok.disabled  # not the exact name
        app.screen.query_one("#typed", Input).value = "delta"
        await pilot.pause()
        assert not ok.disabled
        await pilot.click("#ok")
        await until(pilot, lambda: column(table(app, "trash")) == [])
    async with BaiClient(user) as c:
        assert [f.name for f in await c.folders.list()] == []


async def test_invitations_accept_and_reject(tui_node: NodeProcess, user: ClientConfig) -> None:
    email = f"guest{uuid.uuid4().hex[:6]}@example.org"
    guest = await new_user(tui_node, email)
    async with BaiClient(user) as c:
        await c.folders.create("shared-a")
        await c.folders.create("shared-b")
        await c.sharing.invite("shared-a", [email], "ro")
    app = BaiApp(guest)
    async with app.run_test(size=SIZE) as pilot:
        invitations = app.screen.query_one(InvitationTable)
        await until(pilot, lambda: column(invitations) == ["shared-a"])
        async with BaiClient(user) as c:
            await c.sharing.invite("shared-b", [email], "rw")
        await until(pilot, lambda: len(column(invitations)) == 2, timeout=3)  # pushed
        app.screen.query_one(TabbedContent).active = "tab-invitations"
        await pilot.pause()
        invitations.focus()
        invitations.move_cursor(row=column(invitations).index("shared-a"))
        await pilot.press("a")
        await until(pilot, lambda: "shared-a" in column(table(app, "general")))
        await until(pilot, lambda: column(invitations) == ["shared-b"])
        await pilot.press("x")
        await until(pilot, lambda: column(invitations) == [])
        assert "shared-b" not in column(table(app, "general"))


async def test_sftp_dialog_starts_and_stops_a_session(user: ClientConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with BaiClient(user) as c:
        await c.folders.create("ftp")
    app = BaiApp(user)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: column(table(app, "general")) == ["ftp"])
        table(app, "general").focus()
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SftpDialog))
        dialog = app.screen
        await until(pilot, lambda: "Port:" in str(dialog.query_one("#details", Static).render()))
        assert "sftp -i" in str(dialog.query_one("#commands", Static).render())
        key = tmp_path / "id_container"
        dialog.query_one("#key-path", Input).value = str(key)
        await pilot.click("#save")
        await until(pilot, lambda: key.exists())
        assert key.stat().st_mode & 0o077 == 0
        async with BaiClient(user) as c:
            assert len((await c.sftp.list()).sessions) == 1
        await pilot.click("#stop")
        await until(pilot, lambda: "stopped" in str(dialog.query_one("#details", Static).render()))
        async with BaiClient(user) as c:
            assert (await c.sftp.list()).sessions == []
