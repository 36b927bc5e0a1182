"""Provides resumable transfers: tus uploads and ranged downloads (behind `client.files`).

An upload's ticket is remembered in a small state file, so running the same upload again
after a crash, Ctrl-C or node restart continues from the node's offset. A download goes to
`NAME.bai-part` (its validator beside it) and continues with Range + If-Range.

Only a lost connection is retried, and only once the node has answered this client: a node
that is down at the start fails the command at once, and an error answer (4xx/5xx) is never
retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeVar

import httpx
import msgspec

from bai import api
from bai.client import ranged
from bai.client.errors import NodeUnreachable, local_error
from bai.client.ranged import BACKOFF_MAX, RETRIES, STALLS, Problem
from bai.client.rawhttp import Connection, NetError
from bai.errors import BaiError, Conflict, ServiceUnavailable

if TYPE_CHECKING:
    from bai.client.session import BaiClient

# Bytes per PATCH: 0 sends the rest of the file in one request where the bytes go straight
# from the file to the socket; through an in-process client, CHUNK_STREAMED at a time.
CHUNK = 0
CHUNK_STREAMED = 16 << 20
SMALL = 256 << 10

T = TypeVar("T")


class Progress(Protocol):
    """What a transfer reports: its size once known, bytes done so far, and a resumption."""

    def total(self, n: int) -> None: ...

    def done(self, n: int) -> None: ...

    def resumed(self, offset: int) -> None: ...


class NoProgress:
    def total(self, n: int) -> None:
        pass

    def done(self, n: int) -> None:
        pass

    def resumed(self, offset: int) -> None:
        pass


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "bai" / "uploads"


@dataclass(frozen=True)
class UploadJob:
    folder: str
    local: Path
    remote: str

    def key(self, endpoint: str) -> str:
        st = self.local.stat()
        ident = (
            f"{endpoint}|{self.folder}|{self.remote}|{self.local.resolve()}|{st.st_size}|"
            f"{st.st_mtime_ns}"
        )
        return hashlib.sha256(ident.encode()).hexdigest()[:32]


def ticket_url(ticket: api.TransferTicket) -> httpx.URL:
    return httpx.URL(ticket.url).copy_with(params={"token": ticket.token})


async def retrying(client: BaiClient, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """Retry a transfer step on a lost connection (a restarting node) with backoff."""
    delay = 0.2
    for n in range(RETRIES):
        try:
            return await attempt()
        except NodeUnreachable as e:
            if not client.reached:
                raise  # down from the start: say so now, not after minutes of retries
            if n == RETRIES - 1:
                raise NodeUnreachable(f"{what} failed after {RETRIES} tries: {e}") from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
    raise AssertionError("unreachable")


# ---- upload ----------------------------------------------------------------------------------


def _load_ticket(state_file: Path) -> api.TransferTicket | None:
    try:
        return msgspec.json.decode(state_file.read_bytes(), type=api.TransferTicket)
    except (OSError, msgspec.DecodeError):
        return None  # unreadable: start afresh


async def upload(
    client: BaiClient, job: UploadJob, progress: Progress, chunk_size: int = CHUNK
) -> int:
    try:
        size = job.local.stat().st_size
        state_file = state_dir() / job.key(client.config.endpoint)
    except OSError as e:
        raise local_error(e, job.local) from None
    ticket = _load_ticket(state_file) if state_file.exists() else None
    offset = 0
    if ticket is not None:
        known = ticket
        try:
            offset = await retrying(client, "resume", lambda: _head(client, known))
        except ServiceUnavailable:
            raise  # the node is away: keep the state file, the next run resumes
        except BaiError:
            ticket, offset = None, 0  # expired or finished elsewhere: start afresh
        else:
            if offset:
                progress.resumed(offset)
    if ticket is None:
        ticket = await retrying(
            client,
            "request-upload",
            lambda: client.files.request_upload(job.folder, job.remote, size),
        )
        if size:
            _save_ticket(state_file, ticket)
    current = ticket
    progress.done(offset)
    conflicts_at = -1
    if not chunk_size:
        chunk_size = size if client.direct else CHUNK_STREAMED
    try:
        with job.local.open("rb") as f:
            while offset < size:
                try:
                    # A small rest rides the kept-alive connection: a new connection and a
                    # thread would cost more than the copy they save.
                    if client.direct and size - offset > SMALL:
                        count = min(chunk_size, size - offset)
                        offset = await _patch_direct(client, current, f, offset, count, progress)
                    else:
                        f.seek(offset)
                        step = chunk_size if chunk_size < size else CHUNK_STREAMED
                        offset = await _patch(client, current, offset, f.read(step))
                except NodeUnreachable:
                    # The connection dropped: ask the node where it stands once it is back.
                    offset = await retrying(client, "resume", lambda: _head(client, current))
                except Conflict:
                    # Offsets disagree (a PATCH that landed before the connection broke).
                    if conflicts_at == offset:
                        raise  # the node keeps refusing the offset it gave: not a race
                    conflicts_at = offset
                    offset = await retrying(client, "resume", lambda: _head(client, current))
                progress.done(offset)
    except OSError as e:
        raise local_error(e, job.local) from None
    state_file.unlink(missing_ok=True)
    return size


def _save_ticket(state_file: Path, ticket: api.TransferTicket) -> None:
    try:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state_file.write_bytes(msgspec.json.encode(ticket))
    except OSError:
        pass  # only resumption is lost; the upload itself goes on


async def _head(client: BaiClient, ticket: api.TransferTicket) -> int:
    resp = await client.send(
        client.http.build_request(
            "HEAD", ticket_url(ticket), headers={"Tus-Resumable": api.TUS_VERSION}
        )
    )
    return int(resp.headers["Upload-Offset"])


async def _patch_direct(
    client: BaiClient,
    ticket: api.TransferTicket,
    f: BinaryIO,
    offset: int,
    count: int,
    progress: Progress,
) -> int:
    """One PATCH whose body goes from the file to the socket in the kernel (sendfile)."""
    loop = asyncio.get_running_loop()

    def sent(n: int) -> None:
        loop.call_soon_threadsafe(progress.done, offset + n)

    def work() -> int:
        headers = {
            "Tus-Resumable": api.TUS_VERSION,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(count),
            "Connection": "close",
        }
        with Connection(ticket_url(ticket)) as conn:
            conn.send_head("PATCH", headers)
            try:
                conn.send_file(f.fileno(), offset, count, sent)
            except NetError:
                head = conn.read_head()  # the node may have refused it before the end
            else:
                head = conn.read_head()
            client.reached = True
            if head.status >= 400:
                raise Problem(head, conn.read_small(head))
            return int(head.headers["upload-offset"])

    try:
        return await asyncio.to_thread(work)
    except NetError as e:
        raise client.unreachable(e) from None
    except Problem as p:
        raise p.error() from None


async def _patch(client: BaiClient, ticket: api.TransferTicket, offset: int, data: bytes) -> int:
    resp = await client.send(
        client.http.build_request(
            "PATCH",
            ticket_url(ticket),
            content=data,
            headers={
                "Tus-Resumable": api.TUS_VERSION,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
    )
    return int(resp.headers["Upload-Offset"])


# ---- download --------------------------------------------------------------------------------


class _BrokeOff(Exception):
    """The answer started but ended before its end."""


async def download(
    client: BaiClient, folder: str, remote: str, local: Path, progress: Progress
) -> int:
    """Download the file `remote` to `local` (overwriting it), resuming a `.bai-part` file."""
    part = local.with_name(local.name + ".bai-part")
    meta = local.with_name(local.name + ".bai-part.json")
    ticket = await retrying(
        client, "request-download", lambda: client.files.request_download(folder, remote)
    )
    url = ticket_url(ticket)
    if client.direct:
        size = await ranged.fetch(client, url, remote, part, meta, progress)
        try:
            os.replace(part, local)
        except OSError as e:
            raise local_error(e, local) from None
        meta.unlink(missing_ok=True)
        return size
    delay, stalls = 0.2, 0
    for _ in range(RETRIES):
        try:
            have = part.stat().st_size if part.exists() else 0
            validator = json.loads(meta.read_text()).get("validator") if meta.exists() else None
        except (OSError, ValueError):
            have, validator = 0, None  # an unreadable leftover: fetch it whole
        headers = {}
        if have and validator:
            headers = {"Range": f"bytes={have}-", "If-Range": validator}
        try:
            done = await _get(client, url, headers, part, meta, have, progress)
        except NodeUnreachable:
            if not client.reached:
                raise
        except _BrokeOff:
            now_have = part.stat().st_size if part.exists() else 0
            stalls = stalls + 1 if now_have <= have else 0
            if stalls >= STALLS:
                raise ServiceUnavailable(
                    f"the download of {remote} keeps breaking off at {now_have} bytes; the "
                    "node's log may say why. Run the command again to resume it"
                ) from None
        else:
            try:
                os.replace(part, local)
            except OSError as e:
                raise local_error(e, local) from None
            meta.unlink(missing_ok=True)
            return done
        await asyncio.sleep(delay)
        delay = min(delay * 2, BACKOFF_MAX)
    raise NodeUnreachable(
        f"the download of {remote} kept failing; run the command again to resume it"
    )


async def _get(
    client: BaiClient,
    url: httpx.URL,
    headers: dict[str, str],
    part: Path,
    meta: Path,
    have: int,
    progress: Progress,
) -> int:
    resp = await client.send(client.http.build_request("GET", url, headers=headers), stream=True)
    try:
        resumed = resp.status_code == 206
        mode, done = ("ab", have) if resumed else ("wb", 0)
        if resumed:
            progress.resumed(have)
        length = int(resp.headers.get("Content-Length", 0))
        progress.total(done + length)
        validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        meta.write_text(json.dumps({"validator": validator}))
        progress.done(done)
        with part.open(mode) as f:
            async for chunk in resp.aiter_bytes(1 << 20):
                f.write(chunk)
                done += len(chunk)
                progress.done(done)
        if length and done < (have if resumed else 0) + length:
            raise _BrokeOff()
        return done
    except httpx.TransportError:
        raise _BrokeOff() from None
    except OSError as e:
        raise local_error(e, part) from None
    finally:
        await resp.aclose()


async def stream_to(
    client: BaiClient, ticket: api.TransferTicket, target: Path, progress: Progress
) -> int:
    """Fetch a ticket's whole answer (an archive: no validator, no resumption) into `target`."""
    url = ticket_url(ticket)
    resp = await client.send(client.http.build_request("GET", url), stream=True)
    done = 0
    try:
        length = int(resp.headers.get("Content-Length", 0))
        if length:
            progress.total(length)
        with target.open("wb") as f:
            async for chunk in resp.aiter_bytes(1 << 20):
                f.write(chunk)
                done += len(chunk)
                progress.done(done)
    except httpx.TransportError as e:
        raise NodeUnreachable(
            f"the archive download broke off after {done} bytes ({type(e).__name__}); run the "
            "command again"
        ) from None
    except OSError as e:
        raise local_error(e, target) from None
    finally:
        await resp.aclose()
    return done
