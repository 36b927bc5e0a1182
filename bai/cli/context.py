"""Provides the CLI's shared state, confirmation of destructive commands, and its one error
adapter."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from bai.client import BaiClient, LocalFileError, load_client_config
from bai.errors import BaiError

P = ParamSpec("P")
T = TypeVar("T")

err_console = Console(stderr=True)


@dataclass
class CliState:
    data_dir: Path | None = None

    def client(self) -> BaiClient:
        return BaiClient(load_client_config(self.data_dir))


def state() -> CliState:
    ctx = click.get_current_context()
    obj = ctx.find_object(CliState)
    if obj is None:
        obj = ctx.ensure_object(CliState)
    return obj


def confirm(question: str, yes: bool) -> None:
    """Destructive commands: `-y` confirms; otherwise a terminal is asked, and without a
    terminal on stdin nothing is changed (a piped "y" is no answer: it may come from anywhere,
    such as `yes |` or a script that never meant this command)."""
    if yes:
        return
    if not sys.stdin.isatty():
        err_console.print(
            "Cancelled; nothing was changed: there is no terminal to ask, and only -y "
            "confirms without one (pass -y to go ahead).",
            highlight=False,
        )
        sys.exit(1)
    try:
        ok = click.confirm(question, default=False, err=True)
    except click.Abort:
        ok = False
    if not ok:
        err_console.print("Cancelled; nothing was changed (pass -y to skip this question).")
        sys.exit(1)


def fail(err: BaiError) -> None:
    # soft_wrap: a path or command in the message must stay copyable on one line.
    err_console.print(f"[bold red]error:[/] {escape(err.msg)}", highlight=False, soft_wrap=True)
    sys.exit(err.exit_code)


def command(fn: Callable[P, Awaitable[T]]) -> Callable[P, T | None]:
    """Run an async command body; the one place where a failure becomes an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return asyncio.run(fn(*args, **kwargs))  # type: ignore[arg-type]
        except BaiError as e:
            fail(e)
        except OSError as e:
            # A local file problem the command did not name itself: still one line.
            where = f"{e.filename}: " if e.filename else ""
            fail(LocalFileError(f"{where}{e.strerror or type(e).__name__}"))
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)
        return None

    return wrapper


async def call(fn: Callable[[BaiClient], Awaitable[T]]) -> T:
    async with state().client() as client:
        return await fn(client)
