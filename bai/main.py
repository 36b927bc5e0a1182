"""Provides the `bai` entry point: the client commands plus `bai serve`.

Composed here, outside both, so the CLI package never imports the server.
"""

from __future__ import annotations

from bai.cli.main import cli
from bai.server.command import serve

cli.add_command(serve)


def main() -> None:
    cli(prog_name="bai")
