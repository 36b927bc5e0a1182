"""Provides record output: a rich table for people, JSON for programs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

console = Console()

output_option = click.option(
    "--output",
    "-o",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How to print the records.",
)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def emit(
    records: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    fmt: str,
    *,
    key: str = "items",
) -> None:
    """`columns` pairs a record key with its table heading."""
    if fmt == "json":
        click.echo(json.dumps({key: list(records), "count": len(records)}, indent=2))
        return
    if not records:
        console.print("(no records)")
        return
    table = Table(show_edge=False, header_style="bold")
    for _, heading in columns:
        table.add_column(heading)
    for rec in records:
        table.add_row(*(_cell(rec.get(k)) for k, _ in columns))
    console.print(table)


def emit_one(record: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(record, indent=2))
        return
    table = Table(show_header=False, show_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in record.items():
        table.add_row(k, _cell(v))
    console.print(table)
