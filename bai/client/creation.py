"""Provides uploads of many small files: many per request where the node offers it, else one
tus creation-with-upload POST per file.

A small file's time is round trips and fixed work, not bytes. So one creation grant (a
single signed request-upload with `creation`) covers every file; each file then costs one
POST carrying its bytes (`Upload-Length` = `Content-Length`) that the node commits,
durably, before answering 201. Several files are in flight at once, one per kept-alive
connection (the node commits the ones arriving together as a group), and the connections
are few and bounded. A file whose POST was cut off is sent again whole: it is small, and a
file either appears whole or not at all. The first error answer stops the rest.

A node that announces `bai-tar` in `Tus-Extension` (answering OPTIONS on the grant's URL)
takes many files per request: a tar stream of up to BATCH_FILES files or BATCH_BYTES bytes,
committed all together, durable before its 201, so one request's fixed costs are shared by
dozens of files. A batch cut off is sent again whole (the node wrote none of it).
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import tarfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bai import api
from bai.client.errors import local_error
from bai.client.ranged import Problem
from bai.client.rawhttp import Head
from bai.client.transfers import retrying, ticket_url
from bai.errors import BaiError, InvalidRequest

if TYPE_CHECKING:
    from bai.client.session import BaiClient

CONNECTIONS = 48
WHOLE_MAX = 1 << 20  # the node commits whole files up to this size in groups
_TRIES = 3
BATCH_FILES = 64
BATCH_BYTES = 4 << 20
BATCHES_IN_FLIGHT = 4
TAR_EXTENSION = "bai-tar"
_BLOCK = 512


class _Conn:
    """One kept-alive HTTP/1.1 connection: a request out, its answer in."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: httpx.URL) -> _Conn:
        tls = ssl.create_default_context() if url.scheme == "https" else None
        port = url.port or (443 if tls else 80)
        reader, writer = await asyncio.open_connection(url.host, port, ssl=tls)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[Head, bytes]:
        self.writer.write(request)
        await self.writer.drain()
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ConnectionError(f"the node's answer is not HTTP: {lines[0][:80]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        head = Head(int(parts[1]), headers)
        body = await self.reader.readexactly(head.length or 0)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return head, body

    @property
    def closed(self) -> bool:
        return self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


def _request(target: str, host: str, remote: str, data: bytes) -> bytes:
    meta = base64.b64encode(remote.encode()).decode("ascii")
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {host}\r\nTus-Resumable: {api.TUS_VERSION}\r\n"
        f"Upload-Length: {len(data)}\r\nUpload-Metadata: path {meta}\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode("latin-1") + data


def _read(local: Path) -> bytes:
    try:
        return local.read_bytes()
    except OSError as e:
        raise local_error(e, local) from None


def _tar(jobs: list[tuple[Path, str]]) -> tuple[bytes, list[int]]:
    """The batch as a tar stream (names of any length and script: pax records) and each
    file's size."""
    out: list[bytes] = []
    sizes: list[int] = []
    for local, remote in jobs:
        data = _read(local)
        info = tarfile.TarInfo(remote)
        info.size = len(data)
        try:
            out.append(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict"))
        except (UnicodeEncodeError, ValueError) as e:
            raise InvalidRequest(f"cannot send {local} under the name {remote!r}: {e}") from None
        out.append(data)
        out.append(b"\0" * (-len(data) % _BLOCK))
        sizes.append(len(data))
    out.append(b"\0" * (2 * _BLOCK))  # end of archive
    return b"".join(out), sizes


def _batches(jobs: list[tuple[Path, str]], sizes: list[int]) -> list[list[tuple[Path, str]]]:
    out: list[list[tuple[Path, str]]] = []
    size = 0
    for job, n in zip(jobs, sizes, strict=True):
        if not out or len(out[-1]) >= BATCH_FILES or size + n > BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(job)
        size += n
    return out


async def _offers_tar(client: BaiClient, url: httpx.URL) -> bool:
    try:
        res = await client.http.options(url, headers={"Tus-Resumable": api.TUS_VERSION})
    except httpx.HTTPError:
        return False  # the uploads themselves will say what is wrong
    offered = res.headers.get("tus-extension", "")
    return TAR_EXTENSION in {e.strip() for e in offered.split(",")}


async def _send(
    client: BaiClient, url: httpx.URL, conn: _Conn | None, request: bytes
) -> tuple[_Conn, Head, bytes]:
    """One request on a kept-alive connection (a new one if it was lost), retried whole
    when the connection breaks: a file or batch cut off was not written."""
    for attempt in range(_TRIES):
        try:
            if conn is None or conn.closed:
                conn = await _Conn.open(url)
            head, body = await conn.exchange(request)
            client.reached = True
            return conn, head, body
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            if conn is not None:
                conn.close()
            conn = None
            if attempt == _TRIES - 1:
                raise client.unreachable(e) from None
            await asyncio.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


async def _upload_tar(
    client: BaiClient,
    url: httpx.URL,
    batches: list[list[tuple[Path, str]]],
    done: Callable[[int], None],
) -> int:
    todo = iter(batches)
    total = 0
    target = url.raw_path.decode("ascii")
    host = url.netloc.decode("ascii")

    async def worker() -> None:
        nonlocal total
        conn: _Conn | None = None
        try:
            for batch in todo:  # one shared iterator: each batch goes once
                body, sizes = await asyncio.to_thread(_tar, batch)
                if client.direct:
                    head = (
                        f"POST {target} HTTP/1.1\r\nHost: {host}\r\n"
                        f"Tus-Resumable: {api.TUS_VERSION}\r\nContent-Type: application/x-tar"
                        f"\r\nContent-Length: {len(body)}\r\n\r\n"
                    )
                    conn, answer, text = await _send(client, url, conn, head.encode() + body)
                    if answer.status != 201:
                        raise Problem(answer, text).error()
                else:
                    headers = {
                        "Tus-Resumable": api.TUS_VERSION,
                        "Content-Type": "application/x-tar",
                    }
                    request = client.http.build_request("POST", url, content=body, headers=headers)
                    await client.send(request)
                for n in sizes:
                    total += n
                    done(n)
        finally:
            if conn is not None:
                conn.close()

    await _all(worker, min(BATCHES_IN_FLIGHT, len(batches)))
    return total


async def _all(worker: Callable[[], Coroutine[Any, Any, None]], count: int) -> None:
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, count)):
                group.create_task(worker())
    except BaseExceptionGroup as eg:
        first = next((e for e in eg.exceptions if isinstance(e, BaiError)), eg.exceptions[0])
        raise first from None


async def upload_whole(
    client: BaiClient,
    folder: str,
    jobs: list[tuple[Path, str]],
    done: Callable[[int], None],
    connections: int = CONNECTIONS,
    sizes: list[int] | None = None,
) -> int:
    """Upload `(local, remote)` small files whole; `done(n)` after each file of n bytes.
    With the files' `sizes` (to make batches), in tar batches where the node offers them.
    Returns the bytes uploaded."""
    ticket = await retrying(
        client, "request-upload", lambda: client.files.request_creation(folder, ".")
    )
    url = ticket_url(ticket)
    if sizes is not None and await _offers_tar(client, url):
        return await _upload_tar(client, url, _batches(jobs, sizes), done)
    todo: Iterator[tuple[Path, str]] = iter(jobs)
    total = 0

    async def direct() -> None:
        nonlocal total
        target = url.raw_path.decode("ascii")
        host = url.netloc.decode("ascii")
        conn: _Conn | None = None
        try:
            for local, remote in todo:  # one shared iterator: each file goes once
                data = _read(local)
                request = _request(target, host, remote, data)
                conn, head, body = await _send(client, url, conn, request)
                if head.status != 201:
                    raise Problem(head, body).error()
                total += len(data)
                done(len(data))
        finally:
            if conn is not None:
                conn.close()

    async def in_process() -> None:
        nonlocal total
        for local, remote in todo:
            data = _read(local)
            meta = base64.b64encode(remote.encode()).decode("ascii")
            headers = {
                "Tus-Resumable": api.TUS_VERSION,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": f"path {meta}",
                "Content-Type": "application/offset+octet-stream",
            }
            await client.send(client.http.build_request("POST", url, content=data, headers=headers))
            total += len(data)
            done(len(data))

    worker = direct if client.direct else in_process
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, min(connections, len(jobs)))):
                group.create_task(worker())
    except BaseExceptionGroup as eg:
        first = next((e for e in eg.exceptions if isinstance(e, BaiError)), eg.exceptions[0])
        raise first from None
    return total
