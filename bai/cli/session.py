"""Provides `bai session create|list|info|logs|destroy`: compute sessions that mount folders."""

from __future__ import annotations

import click

from bai.api import sessions as sw
from bai.cli.context import call, command
from bai.cli.output import Col, console, emit, emit_one, output_option
from bai.cli.run import env_option, image_option, mount_option, pairs, resource_option
from bai.client import BaiClient
from bai.client.compute import SessionsApi

COLUMNS = [
    Col("sessionName", "Name", keep=True),
    Col("status", "Status", keep=True),
    Col("image", "Image", drop=2),
    Col("mounts", "Mounts", drop=1),
    Col("createdAt", "Created", drop=3),
    Col("sessionId", "ID", drop=4),
]


def _mounts(value: object) -> str:
    if not isinstance(value, list):
        return ""
    return ", ".join(f"{m['name']}→{m['target']} ({m['perm']})" for m in value)


@click.group("session")
def session() -> None:
    """Compute sessions: sandboxes that mount your folders."""


@session.command("create")
@mount_option
@env_option
@resource_option
@image_option
@click.option("--name", default=None, help="Session name [default: a random one].")
@click.option("--pipeline", default=None, metavar="NAME", help="Pipeline folder at /pipeline.")
@output_option
@command
async def create(
    mounts: tuple[str, ...],
    envs: tuple[str, ...],
    resources: tuple[str, ...],
    image: str | None,
    name: str | None,
    pipeline: str | None,
    fmt: str,
) -> None:
    """Start a session; run commands in it with `bai run`-like tools or the official client."""
    environ, limits = pairs(envs, "environment variable"), pairs(resources, "resource")

    async def body(c: BaiClient) -> sw.SessionInfo:
        api = SessionsApi(c)
        made = await api.create(
            image or "",
            name=name,
            mounts=mounts,
            environ=environ,
            resources=limits,
            pipeline=pipeline,
        )
        return await api.info(str(made.session_id))

    emit_one(await call(body), fmt, show={"mounts": _mounts})


@session.command("list")
@click.option("--all", "everyone", is_flag=True, help="Administrators: everyone's sessions.")
@click.option("--live", is_flag=True, help="Only sessions that are running.")
@output_option
@command
async def list_sessions(everyone: bool, live: bool, fmt: str) -> None:
    """Your sessions, oldest first."""
    found = (await call(lambda c: SessionsApi(c).list(everyone=everyone))).sessions
    if live:
        found = [s for s in found if s.status in ("RUNNING", "PREPARING")]
    emit(found, COLUMNS, fmt, key="sessions")


@session.command("info")
@click.argument("name")
@output_option
@command
async def info(name: str, fmt: str) -> None:
    """One session, by name or id: status, image, mounts."""
    emit_one(await call(lambda c: SessionsApi(c).info(name)), fmt, show={"mounts": _mounts})


@session.command("logs")
@click.argument("name")
@command
async def logs(name: str) -> None:
    """The console output of the session's commands (the latest part)."""
    text = await call(lambda c: SessionsApi(c).logs(name))
    console.out(text, end="", highlight=False)


@session.command("destroy")
@click.argument("names", nargs=-1, required=True)
@command
async def destroy(names: tuple[str, ...]) -> None:
    """End sessions: their commands are killed, their scratch home deleted, folders released."""

    async def body(c: BaiClient) -> None:
        for n in names:
            done = await SessionsApi(c).destroy(n)
            console.print(f"destroyed session {done.session.session_name}", highlight=False)

    await call(body)
