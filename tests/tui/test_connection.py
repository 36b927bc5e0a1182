"""Connection loss: the app shows a banner while the node is down, keeps retrying, and
comes back by itself when the node does; `bai tui` without settings says what to do."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bai.client import ClientConfig
from bai.tui.app import BaiApp
from bai.tui.widgets.banner import ConnectionBanner
from bai.tui.widgets.folder_table import FolderTable
from tests.harness import NodeProcess, run_bai
from tests.tui.helpers import column, until

pytestmark = pytest.mark.node


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_banner_while_the_node_is_down_then_recovery(tmp_path: Path) -> None:
    port = free_port()
    node = NodeProcess(tmp_path / "data", args=["--port", str(port)]).start()
    env = node.client_env()
    config = ClientConfig(
        env["BACKEND_ENDPOINT"], env["BACKEND_ACCESS_KEY"], env["BACKEND_SECRET_KEY"]
    )
    app = BaiApp(config)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            banner = app.screen.query_one(ConnectionBanner)
            await until(pilot, lambda: app.connection_problem == "" and app.screen.hosts)  # type: ignore[attr-defined]
            assert not banner.has_class("-lost")
            node.stop()
            await until(pilot, lambda: banner.has_class("-lost"), timeout=20)
            assert "Cannot reach the node" in str(banner.render())
            node = NodeProcess(tmp_path / "data", args=["--port", str(port)]).start()
            await until(pilot, lambda: not banner.has_class("-lost"), timeout=15)
            # Still working: a folder made now shows up.
            from bai.client import BaiClient

            async with BaiClient(config) as c:
                await c.folders.create("after-restart")
            table = app.screen.query_one("#table-general", FolderTable)
            await until(pilot, lambda: "after-restart" in column(table), timeout=5)
    finally:
        node.stop()


def test_tui_without_settings_says_what_to_do(tmp_path: Path) -> None:
    res = run_bai(
        "tui",
        env={"BACKEND_ACCESS_KEY": "", "BACKEND_ENDPOINT": "", "BAI_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
    )
    assert res.returncode == 78, res.stdout + res.stderr
    assert res.stderr.startswith("error: no node credentials"), res.stderr
