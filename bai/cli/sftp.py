"""Provides `bai vfolder sftp`: "Run SFTP server" for folders — start (or reuse) a session,
list sessions, stop them — and print how to connect: host, port, user, key, the host key's
fingerprint, and commands ready to paste."""

from __future__ import annotations

import json
import shlex
from datetime import datetime
from pathlib import Path

import click

from bai import api
from bai.cli.context import call, command
from bai.cli.output import Col, console, emit, output_option, plain
from bai.cli.vfolder import vfolder
from bai.client import BaiClient
from bai.client.sftp import default_key_path, write_private_key
from bai.errors import InvalidRequest, NotFound

LABELS = {
    "sftp": "sftp",
    "scp": "scp (copy a directory in, keeping times and modes)",
    "rsync": "rsync (the service runs no remote shell: rsync into an sshfs mount)",
}
SESSION_COLUMNS = [
    Col("id", "Session", keep=True),
    Col("folders", "Folders", keep=True),
    Col("last_activity", "Last activity", drop=1),
    Col("expires_at", "Ends unless used by", drop=2),
    Col("owner", "Owner", drop=3),
]


@vfolder.command("sftp")
@click.argument("names", nargs=-1)
@click.option("--stop", is_flag=True, help="Stop your sessions (those holding NAMES, if given).")
@click.option("--list", "listing", is_flag=True, help="List your live SFTP sessions.")
@click.option(
    "--key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your own private key (its public half uploaded with `bai ssh-keypair upload`).",
)
@output_option
@command
async def sftp(
    names: tuple[str, ...], stop: bool, listing: bool, key: Path | None, fmt: str
) -> None:
    """Serve folders NAMES over SFTP and print how to connect with sftp, scp or rsync.

    The folders are the top-level directories of the session's root. The session ends after
    some time without transfers (the node's idle timeout), or with --stop."""
    if stop and listing:
        raise InvalidRequest("give --stop or --list, not both")
    if listing:
        await _list(fmt)
    elif stop:
        await _stop(names, fmt)
    elif not names:
        raise InvalidRequest("name the folders to serve: `bai vfolder sftp NAME…`")
    else:
        await _start(list(names), key, fmt)


async def _start(names: list[str], key: Path | None, fmt: str) -> None:
    async def run(c: BaiClient) -> tuple[api.SftpSessionStarted, Path | None, str]:
        started = await c.sftp.start(names)
        path, note = await _key(c, key)
        return started, path, note

    started, path, note = await call(run)
    conn, session = started.connection, started.session
    commands = _commands(conn, path, session.folders[0].name)
    if fmt == "json":
        out = {**plain(started), "key_path": str(path) if path else None, "commands": commands}
        click.echo(json.dumps(out, indent=2))
        return
    folders = ", ".join(f.name for f in session.folders)
    minutes = f"{session.idle_timeout / 60:g}"
    lines = [
        f"SFTP session {session.id} for {folders} ({'reused' if started.reused else 'new'})",
        f"  ends:      after {minutes} min without transfers, or `bai vfolder sftp --stop`",
        f"  host:      {conn.host}",
        f"  port:      {conn.port}",
        f"  user:      {conn.user}",
        f"  key:       {path if path else '(not on this machine)'}",
        f"  host key:  {conn.host_key_fingerprint}  (ssh shows it when first asked to trust it)",
        *([note] if note else []),
        "",
    ]
    for what, line in commands.items():
        lines += [f"  # {LABELS[what]}", *(f"  {part}" for part in line.splitlines())]
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False, markup=False)


async def _key(c: BaiClient, given: Path | None) -> tuple[Path | None, str]:
    """The private key to print in the commands, fetched from the node when it waits there
    (made first if the access key has none)."""
    if given is not None:
        return given.expanduser(), ""
    path = default_key_path(c.config.access_key)
    info = await c.ssh_keypair.get()
    if info.ssh_public_key is None:
        await c.ssh_keypair.generate()
        info = await c.ssh_keypair.get()
    if info.private_key_downloadable:
        secret = await c.ssh_keypair.download()
        write_private_key(path, secret.ssh_private_key, overwrite=True)
        return path, ""
    if path.exists():
        return path, ""
    return None, (
        f"Your SSH key {info.fingerprint} has no private half on this machine: pass --key with "
        "your copy, or make a new keypair with `bai ssh-keypair generate`."
    )


def _commands(conn: api.SftpConnection, key: Path | None, folder: str) -> dict[str, str]:
    ident = shlex.quote(str(key)) if key else "PRIVATE_KEY"
    opts = f"-i {ident} -o IdentitiesOnly=yes"
    host = f"[{conn.host}]" if ":" in conn.host else conn.host
    target = f"{conn.user}@{host}"
    remote = shlex.quote(f"/{folder}/")
    return {
        "sftp": f"sftp {opts} -P {conn.port} {target}",
        "scp": (f"scp {opts} -P {conn.port} -rp ./DIR {target}:{remote}"),
        "rsync": (
            f"mkdir -p ~/bai-sftp && sshfs -p {conn.port} -o IdentityFile={ident} "
            f"-o IdentitiesOnly=yes {target}:/ ~/bai-sftp\n"
            f"rsync -a --partial ./DIR ~/bai-sftp/{shlex.quote(folder)}/ && "
            "fusermount -u ~/bai-sftp"
        ),
    }


async def _list(fmt: str) -> None:
    res = await call(lambda c: c.sftp.list())
    rows = [
        {
            **plain(s),
            "id": str(s.id),
            "folders": [f.name for f in s.folders],
            "last_activity": _local(s.last_activity),
            "expires_at": _local(s.expires_at),
        }
        for s in res.sessions
    ]
    if fmt == "json":
        click.echo(json.dumps(plain(res), indent=2))
        return
    emit(rows, SESSION_COLUMNS, fmt)
    if res.connection is not None and res.sessions:
        c = res.connection
        console.print(
            f"Connect: {c.user}@{c.host} port {c.port} (host key {c.host_key_fingerprint})"
        )


async def _stop(names: tuple[str, ...], fmt: str) -> None:
    async def run(c: BaiClient) -> list[api.SftpSessionInfo]:
        live = (await c.sftp.list()).sessions
        if names:
            wanted = set(names)
            live = [s for s in live if wanted & _idents(s)]
            if not live:
                raise NotFound(f"no live SFTP session holds {', '.join(names)}")
        return [(await c.sftp.stop(s.id)).session for s in live]

    stopped = await call(run)
    if fmt == "json":
        emit(stopped, [], fmt, key="sessions")
        return
    if not stopped:
        console.print("You have no live SFTP session.")
    for s in stopped:
        console.print(f"Stopped SFTP session {s.id} ({', '.join(f.name for f in s.folders)}).")


def _idents(s: api.SftpSessionInfo) -> set[str]:
    return {f.name for f in s.folders} | {str(f.id) for f in s.folders}


def _local(iso: str | None) -> str:
    if iso is None:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso
