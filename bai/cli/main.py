"""Provides the `bai` client command group (everything but `serve`)."""

from __future__ import annotations

from pathlib import Path

import click

from bai import __version__
from bai.cli import buckets, files, policies, sftp, sharing, transfer  # noqa: F401 - register commands
from bai.cli.admin import admin
from bai.cli.context import CliState
from bai.cli.dotfile import dotfile
from bai.cli.run import run
from bai.cli.session import session
from bai.cli.ssh_keypair import ssh_keypair
from bai.cli.tui import tui
from bai.cli.vfolder import vfolder


@click.group()
@click.version_option(__version__, prog_name="bai")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Use DATA_DIR/client.env for the node's endpoint and keys.",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """bai: Backend.AI-compatible storage folders.

    Credentials come from BACKEND_ENDPOINT, BACKEND_ACCESS_KEY and BACKEND_SECRET_KEY (as for
    the official `backend.ai` client), or from --data-dir's client.env, or ./bai-data/client.env.
    """
    ctx.obj = CliState(data_dir=data_dir)


cli.add_command(vfolder)
cli.add_command(admin)
cli.add_command(ssh_keypair)
cli.add_command(tui)
cli.add_command(run)
cli.add_command(session)
cli.add_command(dotfile)
