"""Provides `bai admin vfolder import`: an existing bucket or prefix becomes a folder."""

from __future__ import annotations

import os

import click

from bai import api
from bai.cli.context import call, command
from bai.cli.output import console, emit_one, output_option, plain
from bai.cli.sharing import admin_vfolder
from bai.enums import Permission, UsageMode, choices
from bai.errors import InvalidRequest

SECRET_ENV = "BAI_IMPORT_SECRET_KEY"


@admin_vfolder.command("import")
@click.argument("host")
@click.argument("source", metavar="BUCKET[/PREFIX]")
@click.option("--name", required=True, help="The folder's name.")
@click.option("--owner", "owner", metavar="EMAIL", help="The user who owns the folder.")
@click.option("--project", metavar="NAME", help="...or the project that owns it.")
@click.option("--read-only", is_flag=True, help="Refuse every write (and mount read-only).")
@click.option("-m", "--usage-mode", type=click.Choice(choices(UsageMode)), default="model")
@click.option(
    "-p",
    "--permission",
    type=click.Choice(choices(Permission)),
    default="rw",
    help="Members' permission (project folders).",
)
@click.option("--endpoint", help="Another S3 service than the host's (http[s]://…).")
@click.option(
    "--access-key",
    help=f"The bucket's own access key; the secret key is read from "
    f"${SECRET_ENV} or asked for (never an argument, so it stays out of shell history).",
)
@output_option
@command
async def import_bucket(
    host: str,
    source: str,
    name: str,
    owner: str | None,
    project: str | None,
    read_only: bool,
    usage_mode: str,
    permission: str,
    endpoint: str | None,
    access_key: str | None,
    fmt: str,
) -> None:
    """(Admins) Make BUCKET, or its PREFIX, on storage host HOST a folder, without copying."""
    if (owner is None) == (project is None):
        raise InvalidRequest("give the folder an owner: --owner EMAIL or --project NAME")
    secret = None
    if access_key is not None:
        secret = os.environ.get(SECRET_ENV) or click.prompt("Secret key", hide_input=True, err=True)
    body = api.BucketImport(
        source=source,
        name=name,
        host=host,
        owner=owner,
        group=project,
        read_only=read_only,
        usage_mode=usage_mode,
        permission=permission,
        endpoint=endpoint,
        access_key=access_key,
        secret_key=secret,
    )
    folder = plain(await call(lambda c: c.folders.import_bucket(body)))
    if fmt == "json":
        emit_one(folder, fmt)
        return
    mode = "read-only" if read_only else "read-write"
    console.print(
        f"Imported {source} on {host} as folder {name} ({folder['id']}, {mode}); its usage "
        "is counted in the background (`bai vfolder info` shows it)."
    )
