"""Provides record output: a rich table for people, JSON (the wire's values) for programs.

Tables fit the terminal by dropping columns, least useful first, before anything is cut:
the columns marked `keep` (names, e-mails) are never dropped and never shortened — when even
they do not fit, they wrap rather than end in "…".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click
import msgspec
from rich.cells import cell_len
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

Record = Mapping[str, Any] | msgspec.Struct


@dataclass(frozen=True)
class Col:
    """One table column: the record key, its heading, and how it behaves when space is short.

    `drop`: columns with a higher number are dropped first (0: dropped last). `keep`: never
    dropped or shortened. `show`: the table text of a value (JSON keeps the value itself).
    """

    key: str
    heading: str
    drop: int = 0
    keep: bool = False
    show: Callable[[Any], str] | None = None


def plain(record: Record) -> dict[str, Any]:
    """A record as JSON-ready builtins, with the wire's keys."""
    value = msgspec.to_builtins(record)
    assert isinstance(value, dict)
    return value


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def _text(col: Col, value: Any) -> str:
    return col.show(value) if col.show is not None and value is not None else cell(value)


def _table(cols: Sequence[Col], rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(show_edge=False, header_style="bold")
    for col in cols:
        if col.keep:
            table.add_column(col.heading, no_wrap=True, overflow="fold")
        else:
            table.add_column(col.heading, overflow="fold")
    for row in rows:
        table.add_row(*(_text(c, row.get(c.key)) for c in cols))
    return table


def _min_width(col: Col, rows: Sequence[dict[str, Any]]) -> int:
    """The narrowest the column can be: a kept column's whole lines, else its longest word."""
    texts = [col.heading, *(_text(col, row.get(col.key)) for row in rows)]
    if col.keep:
        return max(cell_len(line) for text in texts for line in text.splitlines() or [""])
    return max((cell_len(word) for text in texts for word in text.split()), default=1)


def fit(cols: Sequence[Col], rows: Sequence[dict[str, Any]], width: int) -> list[Col]:
    """The columns that fit `width` without shortening a kept column or splitting a word."""
    chosen = list(cols)
    while True:
        # Each column has one space of padding either side, and a rule between columns.
        need = sum(_min_width(c, rows) for c in chosen) + 3 * len(chosen) - 1
        droppable = [c for c in chosen if not c.keep]
        if need <= width or not droppable:
            return chosen
        # Highest `drop` first; among equals, the rightmost.
        chosen.remove(max(droppable, key=lambda c: (c.drop, chosen.index(c))))


def emit(
    records: Sequence[Record],
    columns: Sequence[Col],
    fmt: str,
    *,
    key: str = "items",
) -> None:
    rows = [plain(r) for r in records]
    if fmt == "json":
        click.echo(json.dumps({key: rows, "count": len(rows)}, indent=2))
        return
    if not rows:
        console.print("(no records)")
        return
    console.print(_table(fit(columns, rows, console.width), rows))


def emit_one(
    record: Record, fmt: str, *, show: Mapping[str, Callable[[Any], str]] | None = None
) -> None:
    """One record: JSON, or a two-column table of its keys and values (`show` formats some)."""
    row = plain(record)
    show = show or {}
    if fmt == "json":
        click.echo(json.dumps(row, indent=2))
        return
    table = Table(show_header=False, show_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for k, v in row.items():
        fn = show.get(k)
        table.add_row(k, fn(v) if fn is not None and v is not None else cell(v))
    console.print(table)
