"""Provides `bai ssh-keypair generate|show|upload|download`: the SSH keypair of your access key,
which logs in to the node's SFTP service (Backend.AI's "managing user's SSH keypair")."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import click

from bai import api
from bai.cli.context import call, command
from bai.cli.output import console, emit_one, output_option
from bai.client import BaiClient, LocalFileError
from bai.client.sftp import default_key_path, write_private_key

OUT_PATH = click.Path(dir_okay=False, path_type=Path)


@click.group("ssh-keypair")
def ssh_keypair() -> None:
    """The SSH keypair of your access key (for the SFTP service)."""


@ssh_keypair.command("show")
@output_option
@command
async def show(fmt: str) -> None:
    """Show your SSH public key, its fingerprint and where it came from."""
    info = await call(lambda c: c.ssh_keypair.get())
    if fmt == "json" or info.ssh_public_key is not None:
        emit_one(info, fmt)
    else:
        console.print("No SSH keypair yet: `bai ssh-keypair generate`, or upload your own.")


@ssh_keypair.command("generate")
@click.option("-o", "--output-file", type=OUT_PATH, help="Also download the private key here.")
@click.option("--force", is_flag=True, help="Replace the file at -o if it exists.")
@command
async def generate(output_file: Path | None, force: bool) -> None:
    """Make a new keypair on the node (replacing yours). The node keeps the private key for
    one download: with -o it is downloaded at once."""

    async def run(c: BaiClient) -> tuple[str, str, Path | None]:
        issued = await c.ssh_keypair.generate()
        if output_file is None:
            return issued.ssh_public_key, issued.fingerprint, None
        key = await c.ssh_keypair.download()
        return issued.ssh_public_key, issued.fingerprint, _save(output_file, key, force)

    public, fingerprint, saved = await call(run)
    console.print(f"New SSH keypair {fingerprint}:\n{public}", soft_wrap=True, highlight=False)
    if saved is not None:
        console.print(f"Private key written to {saved} (mode 0600).", soft_wrap=True)
    else:
        console.print(
            "The private key waits on the node for one download: "
            "`bai ssh-keypair download -o PATH`",
            soft_wrap=True,
        )


@ssh_keypair.command("upload")
@click.argument("public_key", type=click.File("r"))
@click.option(
    "--private-key",
    type=click.File("r"),
    help="Its private half, only to check that the two belong together (never sent on).",
)
@command
async def upload(public_key: TextIO, private_key: TextIO | None) -> None:
    """Use your own key: PUBLIC_KEY is its .pub file ('-' reads standard input)."""
    line = public_key.read()
    if private_key is not None:
        _check_pair(line, private_key.read())
    issued = await call(lambda c: c.ssh_keypair.upload(line))
    console.print(f"Your SSH public key {issued.fingerprint} is registered.", highlight=False)


@ssh_keypair.command("download")
@click.option(
    "-o",
    "--output-file",
    type=OUT_PATH,
    help="Where to write it [default: ~/.local/state/bai/ssh/ACCESS_KEY/id_container].",
)
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@command
async def download(output_file: Path | None, force: bool) -> None:
    """Download the generated private key (mode 0600). The node hands it out once."""

    async def run(c: BaiClient) -> Path:
        key = await c.ssh_keypair.download()
        return _save(output_file or default_key_path(c.config.access_key), key, force)

    saved = await call(run)
    console.print(f"Private key written to {saved} (mode 0600).", soft_wrap=True)


def _save(path: Path, key: api.SshPrivateKey, force: bool) -> Path:
    return write_private_key(path.expanduser(), key.ssh_private_key, overwrite=force)


def _check_pair(public: str, private: str) -> None:
    """Refuse here, before anything is sent, a private key that is not the public key's."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_ssh_private_key(private.encode(), password=None)
    except TypeError:
        return  # passphrase-protected: nothing to check without asking for it
    except ValueError:
        raise LocalFileError("cannot read the private key file") from None
    mine = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    if public.split()[:2] != mine.decode().split()[:2]:
        raise LocalFileError("the private key does not belong to the public key")
