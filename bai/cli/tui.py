"""Provides `bai tui`: the terminal Data & Storage page, or (`--serve`) the same app in a web
browser through textual-serve."""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import click

from bai.cli.context import err_console, fail, state
from bai.client import ClientConfig, load_client_config
from bai.client.config import ENV_FILE
from bai.errors import BaiError, ConfigError

LOCAL_DATA = Path("bai-data")


def _nothing_configured(data_dir: Path | None) -> bool:
    return (
        data_dir is None
        and not os.environ.get("BACKEND_ACCESS_KEY")
        and not (Path(os.environ.get("BAI_DATA_DIR") or LOCAL_DATA) / ENV_FILE).exists()
    )


def _start_local_node(data: Path) -> None:
    """Start `bai serve` in the background for a user who has no node yet."""
    data.mkdir(parents=True, exist_ok=True)
    log = (data / "serve.log").open("a")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bai", "serve", "--data-dir", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # it outlives this terminal UI
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (data / ENV_FILE).exists():
        if proc.poll() is not None:
            raise ConfigError(f"the node did not start; see {data / 'serve.log'}")
        time.sleep(0.2)
    time.sleep(0.5)  # client.env is written just before the node listens
    err_console.print(
        f"started a node (pid {proc.pid}, log {data / 'serve.log'}); stop it with `kill {proc.pid}`"
    )


def _config(data_dir: Path | None, endpoint: str | None) -> ClientConfig:
    ask = f"No node is configured. Start a local node in ./{LOCAL_DATA}?"
    if _nothing_configured(data_dir) and sys.stdin.isatty() and click.confirm(ask, default=True):
        _start_local_node(LOCAL_DATA.absolute())
        data_dir = LOCAL_DATA.absolute()
    config = load_client_config(data_dir)
    if endpoint:
        config = dataclasses.replace(config, endpoint=endpoint.rstrip("/"))
    return config


@click.command("tui")
@click.option("--endpoint", default=None, help="The node's URL (overrides BACKEND_ENDPOINT).")
@click.option("--serve", is_flag=True, help="Serve the app to web browsers instead.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --serve.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def tui(endpoint: str | None, serve: bool, host: str, port: int) -> None:
    """The Data & Storage page in the terminal: folders, quotas, sharing, file explorer."""
    data_dir = state().data_dir
    try:
        config = _config(data_dir, endpoint)
    except BaiError as e:
        fail(e)
        return
    if serve:
        from textual_serve.server import Server

        # Each browser gets its own `bai tui` process, reading the same settings.
        args = [sys.executable, "-m", "bai"]
        if data_dir is not None:
            args += ["--data-dir", str(data_dir.absolute())]
        args += ["tui", "--endpoint", config.endpoint]
        Server(shlex.join(args), host=host, port=port, title="bai — Data & Storage").serve()
        return
    from bai.tui.app import BaiApp

    BaiApp(config).run()
