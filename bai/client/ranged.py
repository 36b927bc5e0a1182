"""Provides fast, resumable downloads of one file: the body read straight into the file
(`rawhttp`), a big file in several ranges at once, each on its own connection.

The file grows in `NAME.bai-part` (its final size from the start) and `NAME.bai-part.json`
records the validator and how far each range has got, so a download cut short — a lost
connection, Ctrl-C, a killed process — continues each range where it stopped, with Range
and If-Range. If the remote file changed meanwhile the node sends it whole (If-Range), and
the download starts over. A record from before ranges (only a validator, the part file's
size the bytes had) continues as one range.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bai.client.errors import NodeUnreachable, local_error
from bai.client.rawhttp import RECV_BUFFER, BrokeOff, Connection, Head, NetError
from bai.errors import BaiError, ServiceUnavailable, from_problem

if TYPE_CHECKING:
    from bai.client.session import BaiClient
    from bai.client.transfers import Progress

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_SAVE_EVERY = 0.2  # seconds between records of each range's progress (a small write)
RETRIES = 30
BACKOFF_MAX = 5.0
# A download whose answer keeps breaking off without a new byte is failing in the node, not
# in the network: give up after this many tries instead of RETRIES.
STALLS = 3


class Live:
    """The connections of one attempt, so that calling it off ends its threads at once."""

    def __init__(self) -> None:
        self.conns: set[Connection] = set()
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True
        for conn in list(self.conns):  # a blocked receive returns at once
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)


class Changed(Exception):
    """The remote file is not the one the part file holds: start over."""


@dataclass(frozen=True)
class Settings:
    """How `bai` downloads: files of at least `split_above` bytes come in `streams` ranges
    at once (1 turns it off)."""

    streams: int = 4
    split_above: int = 64 << 20


@dataclass
class Segment:
    start: int
    end: int
    done: int = 0  # bytes written from `start`

    @property
    def left(self) -> int:
        return self.end - self.start - self.done


@dataclass
class Plan:
    validator: str
    size: int
    segments: list[Segment]

    def save(self, meta: Path) -> None:
        segs = [[s.start, s.end, s.done] for s in self.segments]
        data = {"validator": self.validator, "size": self.size, "segments": segs}
        tmp = meta.with_name(meta.name + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, meta)

    @property
    def done(self) -> int:
        return sum(s.done for s in self.segments)


def split(size: int, validator: str, settings: Settings) -> Plan:
    n = settings.streams if size >= settings.split_above and settings.streams > 1 else 1
    step = -(-size // n) if size else 0
    bounds = [(i * step, min((i + 1) * step, size)) for i in range(n)]
    return Plan(validator, size, [Segment(a, b) for a, b in bounds if b > a or size == 0])


def load(part: Path, meta: Path) -> tuple[str, list[list[int]] | None, int] | None:
    """(validator, ranges or None for an old one-range record, part size) of a leftover."""
    try:
        data = json.loads(meta.read_text())
        have = part.stat().st_size
    except (OSError, ValueError):
        return None
    validator = data.get("validator") if isinstance(data, dict) else None
    if not isinstance(validator, str):
        return None
    segs = data.get("segments")
    ok = isinstance(segs, list) and all(
        isinstance(s, list) and len(s) == 3 and all(isinstance(x, int) for x in s) for s in segs
    )
    return validator, (segs if ok else None), have


def _validator(head: Head) -> str | None:
    return head.headers.get("etag") or head.headers.get("last-modified")


def _check(head: Head) -> None:
    if head.status >= 400:
        raise Problem(head)


class Problem(Exception):
    """An error answer; `body` is filled in by whoever still holds the connection."""

    def __init__(self, head: Head, body: bytes = b"") -> None:
        self.head = head
        self.body = body

    def error(self) -> BaiError:
        try:
            parsed: object = json.loads(self.body)
        except ValueError:
            parsed = self.body.decode("utf-8", "replace")
        return from_problem(self.head.status, parsed)


def _open(url: httpx.URL, headers: dict[str, str], live: Live) -> tuple[Connection, Head]:
    if live.stopped:
        raise BrokeOff(0)  # called off before this range began
    conn = Connection(url)
    live.conns.add(conn)
    if live.stopped:  # called off while connecting (after `stop` looked at the set)
        conn.close()
        raise BrokeOff(0)
    try:
        conn.send_head("GET", {"Accept-Encoding": "identity", **headers})
        head = conn.read_head()
        if head.status >= 400:
            raise Problem(head, conn.read_small(head))
    except BaseException:
        conn.close()
        raise
    return conn, head


def _fetch(conn: Connection, fd: int, seg: Segment) -> None:
    """Receive the rest of `seg` from `conn` (its answer's head already read)."""
    buf = bytearray(min(RECV_BUFFER, max(seg.left, 1)))
    base = seg.start + seg.done
    before = seg.done

    def got(n: int) -> None:
        seg.done = before + n

    with conn:
        conn.read_into(fd, base, seg.left, got, buf)


def _resume(url: httpx.URL, validator: str, fd: int, seg: Segment, live: Live) -> None:
    first, last = seg.start + seg.done, seg.end - 1
    rng = {"Range": f"bytes={first}-{last}", "If-Range": validator}
    conn, head = _open(url, rng, live)
    m = _CONTENT_RANGE.match(head.headers.get("content-range", ""))
    if head.status != 206 or m is None or int(m.group(1)) != first:
        conn.close()
        raise Changed()
    _fetch(conn, fd, seg)


async def download(
    client: BaiClient, url: httpx.URL, part: Path, meta: Path, progress: Progress, s: Settings
) -> int:
    """One attempt: the file's size when it is all in `part`; raises `Changed`, `BrokeOff`
    (some bytes missing: try again), `OSError` (no connection) or a `BaiError`."""
    left = load(part, meta) if part.exists() and meta.exists() else None
    live = Live()
    first: tuple[Connection, Head] | None = None
    if left is not None and left[1] is not None:
        validator, segs = left[0], left[1]
        plan = Plan(validator, max(x[1] for x in segs) if segs else 0, [Segment(*x) for x in segs])
    elif left is not None:  # an old record: the part file holds a prefix
        validator, _, have = left
        rng = {"Range": f"bytes={have}-", "If-Range": validator}
        conn, head = await asyncio.to_thread(_open, url, rng, live)
        client.reached = True
        m = _CONTENT_RANGE.match(head.headers.get("content-range", ""))
        if head.status != 206 or m is None or _validator(head) != validator:
            conn.close()
            raise Changed()
        plan = Plan(validator, int(m.group(3)), [Segment(0, int(m.group(3)), have)])
        first = (conn, head)
    else:
        conn, head = await asyncio.to_thread(_open, url, {}, live)
        client.reached = True
        validator = _validator(head) or ""
        if head.length is None or head.status != 200:
            conn.close()
            raise BrokeOff(0)
        plan = split(head.length, validator, s)
        if not validator:
            plan = split(head.length, "", Settings(streams=1))  # no resumption, no ranges
        with part.open("wb") as f:
            f.truncate(plan.size)
        first = (conn, head)
    progress.total(plan.size)
    if plan.done:
        progress.resumed(plan.done)
    progress.done(plan.done)
    if plan.validator:
        plan.save(meta)
    fd = os.open(part, os.O_WRONLY)
    try:
        jobs = []
        for seg in plan.segments:
            if seg.left <= 0:
                continue
            if first is not None:  # the first answer carries the first range's bytes
                jobs.append(asyncio.to_thread(_fetch, first[0], fd, seg))
                first = None
            else:
                jobs.append(asyncio.to_thread(_resume, url, plan.validator, fd, seg, live))
        # Every range runs to its end (or its connection's): none may still write into the
        # file once it is closed, so the first failure is raised after all have stopped.
        results = await _watch(
            asyncio.gather(*jobs, return_exceptions=True), plan, meta, progress, live
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]
    finally:
        os.close(fd)
        if first is not None:
            first[0].close()
    if any(seg.left for seg in plan.segments):
        raise BrokeOff(plan.done)
    return plan.size


async def _watch(
    work: asyncio.Future[list[BaseException | None]],
    plan: Plan,
    meta: Path,
    progress: Progress,
    live: Live,
) -> list[BaseException | None]:
    """Report progress while the ranges run, and record it now and then (and at the end,
    however it ends), so that a killed download resumes close to where it was."""
    last_save = asyncio.get_running_loop().time()
    try:
        while not work.done():
            await asyncio.wait([work], timeout=0.2)
            progress.done(plan.done)
            now = asyncio.get_running_loop().time()
            if plan.validator and now - last_save >= _SAVE_EVERY:
                plan.save(meta)
                last_save = now
        return work.result()
    finally:
        if not work.done():
            live.stop()
            with contextlib.suppress(BaseException):
                await asyncio.shield(work)
        progress.done(plan.done)
        if plan.validator:
            with contextlib.suppress(OSError):
                plan.save(meta)


async def fetch(
    client: BaiClient, url: httpx.URL, remote: str, part: Path, meta: Path, progress: Progress
) -> int:
    """`download` until the file is whole: a lost connection is retried with backoff,
    a changed remote file starts over, and a node that keeps breaking off without a new
    byte is given up on."""
    delay, stalls, best = 0.2, 0, -1
    for _ in range(RETRIES):
        try:
            return await download(client, url, part, meta, progress, client.transfer)
        except Changed:
            part.unlink(missing_ok=True)
            meta.unlink(missing_ok=True)
            continue
        except Problem as p:
            raise p.error() from None
        except NetError as e:
            if not client.reached:
                raise client.unreachable(e) from None
        except BrokeOff as e:
            have = int(e.args[0]) if e.args else 0
            stalls, best = (stalls + 1, best) if have <= best else (0, have)
            if stalls >= STALLS:
                raise ServiceUnavailable(
                    f"the download of {remote} keeps breaking off at {have} bytes; the "
                    "node's log may say why. Run the command again to resume it"
                ) from None
        except OSError as e:
            raise local_error(e, part) from None
        await asyncio.sleep(delay)
        delay = min(delay * 2, BACKOFF_MAX)
    raise NodeUnreachable(
        f"the download of {remote} kept failing; run the command again to resume it"
    )
