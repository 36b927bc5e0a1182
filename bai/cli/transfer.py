"""Provides `bai vfolder upload` and `download`, with progress bars and resumption."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import click

from bai.cli.context import call, command
from bai.cli.output import console
from bai.cli.progress import Tracker, transfer_bar
from bai.cli.vfolder import vfolder
from bai.client import BaiClient
from bai.client.transfers import CHUNK, UploadJob, download, folder_path, upload
from bai.errors import InvalidRequest


def _remote_for(local: Path, base: Path, dst: str | None) -> str:
    try:
        rel = local.resolve().relative_to(base.resolve())
    except ValueError:
        rel = Path(local.name)  # outside the base: keep only the name
    remote = PurePosixPath(*rel.parts)
    return str(PurePosixPath(dst) / remote) if dst else str(remote)


def _plan(
    files: tuple[Path, ...], recursive: bool, base: Path, dst: str | None
) -> tuple[list[str], list[UploadJob]]:
    dirs: list[str] = []
    jobs: list[UploadJob] = []
    for f in files:
        if f.is_dir():
            if not recursive:
                raise InvalidRequest(f"{f} is a directory; pass -r to upload it with its contents")
            for d, subdirs, names in os.walk(f):
                subdirs.sort()
                dirs.append(_remote_for(Path(d), base, dst))
                jobs += [
                    UploadJob("", Path(d) / n, _remote_for(Path(d) / n, base, dst))
                    for n in sorted(names)
                ]
        elif f.is_file():
            jobs.append(UploadJob("", f, _remote_for(f, base, dst)))
        else:
            raise InvalidRequest(f"{f}: no such file or directory")
    return dirs, jobs


@vfolder.command("upload")
@click.argument("name")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-r", "--recursive", is_flag=True, help="Upload directories with their contents.")
@click.option(
    "-b",
    "--base-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Remote paths are relative to this directory [default: cwd].",
)
@click.option("-d", "--dst-dir", help="Put everything under this directory of the folder.")
@click.option("--chunk-size", type=int, default=CHUNK, show_default=True)
@command
async def upload_cmd(
    name: str,
    files: tuple[Path, ...],
    recursive: bool,
    base_dir: Path | None,
    dst_dir: str | None,
    chunk_size: int,
) -> None:
    """Upload files to a folder. Existing files are overwritten; an interrupted upload
    continues where it stopped when you run the same command again."""
    dirs, jobs = _plan(files, recursive, base_dir or Path.cwd(), dst_dir)

    async def run(c: BaiClient) -> int:
        if dirs:
            await c.post(
                folder_path(name, "/mkdir"),
                json={"path": [d for d in dirs if d != "."], "parents": True, "exist_ok": True},
            )
        total = 0
        with transfer_bar() as bar:
            for job in jobs:
                track = Tracker(bar, job.remote, job.local.stat().st_size)
                total += await upload(
                    c, UploadJob(name, job.local, job.remote), track.done, chunk_size
                )
        return total

    total = await call(run)
    console.print(f"Uploaded {len(jobs)} file(s), {total} bytes, to {name}.")


@vfolder.command("download")
@click.argument("name")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "-b",
    "--base-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Save under this local directory [default: cwd].",
)
@command
async def download_cmd(name: str, paths: tuple[str, ...], base_dir: Path | None) -> None:
    """Download files from a folder. Local files are overwritten; a partial download
    (NAME.bai-part) continues where it stopped."""
    base = base_dir or Path.cwd()

    async def run(c: BaiClient) -> int:
        total = 0
        with transfer_bar() as bar:
            for p in paths:
                local = base / PurePosixPath(p).name
                track = Tracker(bar, p, None)
                total += await download(c, name, p, local, track.done, track.total)
        return total

    total = await call(run)
    console.print(f"Downloaded {len(paths)} file(s), {total} bytes.")
