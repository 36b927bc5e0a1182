"""Provides uploads of big files in parallel parts (the tus concatenation extension).

The file is cut into `streams` ranges; each becomes a partial upload (`Upload-Concat:
partial`, created with one POST) sent over its own connection straight from the file with
sendfile; a final POST (`Upload-Concat: final;URL…`) joins them, and only then does the
file appear. The parts' URLs and ranges are kept in the upload's state file, so running the
same upload again asks each part for its offset and sends only what is missing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from typing import TYPE_CHECKING

import httpx
import msgspec

from bai import api
from bai.client.errors import NodeUnreachable, local_error
from bai.client.ranged import Problem
from bai.client.rawhttp import Connection, NetError
from bai.client.transfers import Progress, UploadJob, retrying, state_dir, ticket_url
from bai.errors import BaiError, ServiceUnavailable

if TYPE_CHECKING:
    from bai.client.session import BaiClient


class Part(msgspec.Struct):
    url: str  # the partial upload's Location (its token included)
    start: int
    end: int


# Off unless asked for (`--streams N`): the node joins the parts with copy_file_range, a
# reflink on btrfs/xfs but a real copy on ext4, whose fsync then costs more than the parallel
# streams save on one machine (400 MiB over loopback: 3.8 s in 4 parts, 2.3 s in one).
STREAMS = 1
ABOVE = 256 << 20


class PartsState(msgspec.Struct):
    creation: api.TransferTicket
    parts: list[Part]


def _meta(remote: str) -> str:
    return "path " + base64.b64encode(remote.encode()).decode("ascii")


def _ranges(size: int, streams: int) -> list[tuple[int, int]]:
    step = -(-size // streams)
    step = (step + (1 << 20) - 1) & ~((1 << 20) - 1)  # MiB-aligned: direct I/O on the node
    return [(s, min(s + step, size)) for s in range(0, size, step)]


async def _post(client: BaiClient, url: httpx.URL, headers: dict[str, str]) -> httpx.Response:
    request = client.http.build_request(
        "POST", url, headers={"Tus-Resumable": api.TUS_VERSION, **headers}
    )
    return await client.send(request)


async def _offset(client: BaiClient, url: str) -> int:
    request = client.http.build_request("HEAD", url, headers={"Tus-Resumable": api.TUS_VERSION})
    return int((await client.send(request)).headers["Upload-Offset"])


async def _start(client: BaiClient, job: UploadJob, size: int, streams: int) -> PartsState:
    creation = await retrying(
        client, "request-upload", lambda: client.files.request_creation(job.folder, ".")
    )
    parts = []
    for start, end in _ranges(size, streams):
        resp = await _post(
            client,
            ticket_url(creation),
            {
                "Upload-Concat": "partial",
                "Upload-Length": str(end - start),
                "Upload-Metadata": _meta(job.remote),
            },
        )
        parts.append(Part(resp.headers["Location"], start, end))
    return PartsState(creation, parts)


def _send_part(client: BaiClient, part: Part, fd: int, have: int, sent: list[int], i: int) -> None:
    """PATCH the rest of one part from the file with sendfile (in a worker thread)."""
    count = part.end - part.start - have
    headers = {
        "Tus-Resumable": api.TUS_VERSION,
        "Upload-Offset": str(have),
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(count),
        "Connection": "close",
    }

    def progress(n: int) -> None:
        sent[i] = have + n

    with Connection(httpx.URL(part.url)) as conn:
        conn.send_head("PATCH", headers)
        # The node may have refused it before the end: its answer says why.
        with contextlib.suppress(NetError):
            conn.send_file(fd, part.start + have, count, progress)
        head = conn.read_head()
        client.reached = True
        if head.status >= 400:
            raise Problem(head, conn.read_small(head))


async def upload_parts(
    client: BaiClient, job: UploadJob, size: int, streams: int, progress: Progress
) -> int:
    """Upload `job` (of `size` bytes) in `streams` parallel parts; see the module docstring."""
    try:
        state_file = state_dir() / (job.key(client.config.endpoint) + ".parts")
    except OSError as e:
        raise local_error(e, job.local) from None
    state: PartsState | None = None
    haves: list[int] = []
    if state_file.exists():
        try:
            state = msgspec.json.decode(state_file.read_bytes(), type=PartsState)
            haves = [await _offset(client, p.url) for p in state.parts]
        except ServiceUnavailable:
            raise  # the node is away: keep the state file, the next run resumes
        except (OSError, msgspec.DecodeError, BaiError):
            state = None  # unreadable, expired or finished elsewhere: start afresh
        else:
            if sum(haves):
                progress.resumed(sum(haves))
    if state is None:
        state = await _start(client, job, size, streams)
        haves = [0] * len(state.parts)
        try:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            state_file.write_bytes(msgspec.json.encode(state))
        except OSError:
            pass  # only resumption is lost
    sent = list(haves)
    loop = asyncio.get_running_loop()

    async def report() -> None:
        while True:
            progress.done(sum(sent))
            await asyncio.sleep(0.2)

    reporter = asyncio.create_task(report())
    try:
        fd = os.open(job.local, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        reporter.cancel()
        raise local_error(e, job.local) from None
    try:
        await asyncio.gather(
            *(
                loop.run_in_executor(None, _send_part, client, part, fd, have, sent, i)
                for i, (part, have) in enumerate(zip(state.parts, haves, strict=True))
                if have < part.end - part.start
            )
        )
    except NetError as e:
        raise client.unreachable(e) from None
    except Problem as p:
        raise p.error() from None
    finally:
        reporter.cancel()
        os.close(fd)
    progress.done(size)
    urls = " ".join(p.url for p in state.parts)
    try:
        await _post(
            client,
            ticket_url(state.creation),
            {"Upload-Concat": f"final;{urls}", "Upload-Metadata": _meta(job.remote)},
        )
    except NodeUnreachable:
        raise  # the parts stay: running the upload again joins them
    state_file.unlink(missing_ok=True)
    return size
