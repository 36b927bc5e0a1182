"""Provides `bai vfolder upload` and `download`, with progress bars and resumption."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import click

from bai.cli.context import call, command
from bai.cli.output import console
from bai.cli.progress import Bars
from bai.cli.vfolder import vfolder
from bai.client import BaiClient, Fetched, creation, parts
from bai.client.errors import ensure_dir, local_error
from bai.client.ranged import Settings as TransferSettings
from bai.client.transfers import CHUNK
from bai.errors import InvalidRequest
from bai.sizes import format_size, parse_size

_BAR_EACH = 8  # up to this many files, one bar each, one after another
_FILES_AT_ONCE = 8


@dataclass(frozen=True)
class Upload:
    local: Path
    remote: str


def _remote_for(local: Path, base: Path, dst: str | None) -> str:
    try:
        rel = local.resolve().relative_to(base.resolve())
    except ValueError:
        rel = Path(local.name)  # outside the base: keep only the name
    remote = PurePosixPath(*rel.parts)
    return str(PurePosixPath(dst) / remote) if dst else str(remote)


def _size(local: Path) -> int:
    try:
        return local.stat().st_size
    except OSError as e:
        raise local_error(e, local) from None


def _plan(
    files: tuple[Path, ...], recursive: bool, base: Path, dst: str | None
) -> tuple[list[str], list[Upload]]:
    dirs: list[str] = []
    jobs: list[Upload] = []
    for f in files:
        if f.is_dir():
            if not recursive:
                raise InvalidRequest(f"{f} is a directory; pass -r to upload it with its contents")
            for d, subdirs, names in os.walk(f):
                subdirs.sort()
                dirs.append(_remote_for(Path(d), base, dst))
                jobs += [
                    Upload(Path(d) / n, _remote_for(Path(d) / n, base, dst)) for n in sorted(names)
                ]
        elif f.is_file():
            jobs.append(Upload(f, _remote_for(f, base, dst)))
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
@click.option(
    "--chunk-size",
    type=click.IntRange(min=0),
    default=CHUNK,
    help="Bytes per request; 0 sends each file in one request, from the file straight to "
    "the network [default: 0].",
)
@click.option(
    "--streams",
    type=click.IntRange(1, 16),
    default=parts.STREAMS,
    show_default=True,
    help="Parts a big file is sent in at once (tus concatenation); 1 for one stream.",
)
@click.option(
    "--split-above",
    default=f"{parts.ABOVE >> 20}M",
    show_default=True,
    help="Files at least this big are sent in parallel parts (bytes, or with K/M/G).",
)
@command
async def upload_cmd(
    name: str,
    files: tuple[Path, ...],
    recursive: bool,
    base_dir: Path | None,
    dst_dir: str | None,
    chunk_size: int,
    streams: int,
    split_above: str,
) -> None:
    """Upload files to a folder. Existing files are overwritten; an interrupted upload
    continues where it stopped when you run the same command again."""
    dirs, jobs = _plan(files, recursive, base_dir or Path.cwd(), dst_dir)
    above = parse_size(split_above)

    async def run(c: BaiClient) -> int:
        made = [d for d in dirs if d != "."]
        if made:
            await c.files.mkdir(name, made, parents=True, exist_ok=True)
        total = 0
        with Bars() as bars:
            if len(jobs) <= _BAR_EACH:
                for job in jobs:
                    track = bars.track(job.remote, job.local.stat().st_size)
                    total += await c.files.upload(
                        name,
                        job.local,
                        job.remote,
                        progress=track,
                        chunk_size=chunk_size,
                        streams=streams,
                        parallel_above=above,
                    )
                return total
            # Many files, under one bar; the first failure stops the rest. Small ones go
            # whole: many per POST (tar batches) where the node offers it, else one POST
            # per file, several requests at once; larger ones a few at a time.
            sizes = {job: _size(job.local) for job in jobs}
            overall = bars.track(f"{len(jobs)} files", sum(sizes.values()))
            whole = [j for j in jobs if sizes[j] <= creation.WHOLE_MAX]
            small = [(j.local, j.remote) for j in whole]
            large = [j for j in jobs if sizes[j] > creation.WHOLE_MAX]

            def done(n: int) -> None:
                nonlocal total
                total += n
                overall.done(total)

            if small:
                await creation.upload_whole(c, name, small, done, sizes=[sizes[j] for j in whole])
            gate = asyncio.Semaphore(_FILES_AT_ONCE)

            async def one(job: Upload) -> None:
                async with gate:
                    n = await c.files.upload(
                        name,
                        job.local,
                        job.remote,
                        chunk_size=chunk_size,
                        streams=streams,
                        parallel_above=above,
                    )
                    done(n)

            try:
                async with asyncio.TaskGroup() as group:
                    for job in large:
                        group.create_task(one(job))
            except BaseExceptionGroup as eg:
                raise eg.exceptions[0] from None
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
    help="Save under this local directory, created if missing [default: cwd].",
)
@click.option(
    "--streams",
    type=click.IntRange(1, 16),
    default=TransferSettings.streams,
    show_default=True,
    help="Connections a big file is fetched over at once (in ranges); 1 for one stream.",
)
@click.option(
    "--split-above",
    default="64M",
    show_default=True,
    help="Files at least this big are fetched in ranges (bytes, or with K/M/G).",
)
@command
async def download_cmd(
    name: str, paths: tuple[str, ...], base_dir: Path | None, streams: int, split_above: str
) -> None:
    """Download files or directories from a folder. A directory comes with everything in it,
    keeping relative paths (fetched as a zip and unpacked here). Local files are overwritten;
    a partial file download (NAME.bai-part) continues where it stopped."""
    base = base_dir or Path.cwd()
    settings = TransferSettings(streams=streams, split_above=parse_size(split_above))
    ensure_dir(base)

    async def run(c: BaiClient) -> list[Fetched]:
        c.transfer = settings
        got = []
        with Bars() as bars:
            for p in paths:
                got.append(await c.files.fetch(name, p, base, progress=bars.track(p)))
        return got

    got = await call(run)
    files = sum(g.files for g in got)
    size = sum(g.bytes for g in got)
    dirs = [g for g in got if g.directory]
    into = f" ({len(dirs)} director{'y' if len(dirs) == 1 else 'ies'})" if dirs else ""
    console.print(f"Downloaded {files} file(s){into}, {size} bytes ({format_size(size)}).")
