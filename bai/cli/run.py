"""Provides `bai run`: run a command in a new session that mounts folders, streaming its
output, and exit with the command's exit code."""

from __future__ import annotations

import sys

import click

from bai.cli.context import call, command, err_console
from bai.client import BaiClient
from bai.client.compute import SessionsApi
from bai.errors import InvalidRequest


def pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key:
            raise InvalidRequest(f"{what} {v!r} is not KEY=VALUE")
        out[key] = value
    return out


mount_option = click.option(
    "-m",
    "--mount",
    "mounts",
    multiple=True,
    metavar="SPEC",
    help="Folder to mount: NAME, NAME:PATH, NAME=PATH or "
    "type=bind,source=NAME,target=PATH,perm=ro (PATH relative to /home/work unless it "
    "starts with /). Repeatable.",
)
env_option = click.option(
    "-e", "--env", "envs", multiple=True, metavar="KEY=VAL", help="Environment variable."
)
resource_option = click.option(
    "-r",
    "--resource",
    "resources",
    multiple=True,
    metavar="KEY=VAL",
    help="Limit: cpu=CORES, mem=SIZE, pids=N (default: the image's).",
)
image_option = click.option(
    "--image", default=None, help="Image (from the node's node.toml) [default: its only one]."
)


@click.command("run", context_settings={"ignore_unknown_options": False})
@click.option("--rm", "remove", is_flag=True, help="Destroy the session when the command ends.")
@mount_option
@env_option
@resource_option
@image_option
@click.option("--name", default=None, help="Session name [default: a random one].")
@click.option(
    "--pipeline",
    default=None,
    metavar="NAME",
    help="Pipeline folder for this run, mounted at /pipeline (created as a data folder).",
)
@click.argument("argv", nargs=-1, required=True, metavar="-- COMMAND...")
@command
async def run(
    remove: bool,
    mounts: tuple[str, ...],
    envs: tuple[str, ...],
    resources: tuple[str, ...],
    image: str | None,
    name: str | None,
    pipeline: str | None,
    argv: tuple[str, ...],
) -> None:
    """Run COMMAND in a sandboxed session that mounts folders; its output streams here and
    `bai run` exits with its exit code. Files written under a mounted folder stay; the rest
    of /home/work is deleted with the session (at once with --rm)."""
    environ, limits = pairs(envs, "environment variable"), pairs(resources, "resource")

    async def body(c: BaiClient) -> int:
        sessions = SessionsApi(c)
        created = await sessions.create(
            image or "",
            name=name,
            mounts=mounts,
            environ=environ,
            resources=limits,
            pipeline=pipeline,
        )
        sid = created.session_name
        code = 1
        try:
            async for result in sessions.run(sid, list(argv)):
                for stream, text in result.console:
                    out = sys.stdout if stream == "stdout" else sys.stderr
                    out.write(text)
                    out.flush()
                if result.status == "finished":
                    code = result.exit_code if result.exit_code is not None else 1
        finally:
            if remove:
                await sessions.destroy(sid)
            else:
                err_console.print(
                    f"session {sid} is still live; end it with `bai session destroy {sid}`",
                    highlight=False,
                )
        return code

    sys.exit(await call(body))
