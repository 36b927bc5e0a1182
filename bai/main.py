"""Provides the `bai` entry point: the client commands plus `bai serve`.

Composed here, outside both, so the CLI package never imports the server; `serve` is loaded
only when it runs, so client commands start without importing the server stack.
"""

from __future__ import annotations

import importlib

import click

from bai.cli.main import cli

_LAZY = {"serve": ("bai.server.command", "serve", "Run a node: the storage-folder API.")}


class _LazyServe(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_LAZY])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _LAZY and name not in self.commands:
            module, attr, _ = _LAZY[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


entry = _LazyServe(
    name="bai", commands=cli.commands, params=cli.params, callback=cli.callback, help=cli.help
)


def main() -> None:
    entry(prog_name="bai")
