"""Provides resumable transfers for `bai`: tus uploads and ranged downloads.

An upload's token is remembered in a small state file, so running the same upload again
after a crash, Ctrl-C or node restart continues from the node's offset. A download goes to
`NAME.bai-part` (its validators beside it) and continues with Range + If-Range.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bai.client.session import BaiClient
from bai.errors import BaiError, Conflict, ServiceUnavailable

CHUNK = 16 << 20
RETRIES = 30
BACKOFF_MAX = 5.0

Progress = Callable[[int], None]  # called with the bytes done so far


def folder_path(name: str, suffix: str = "") -> str:
    return f"/folders/{quote(name, safe='')}{suffix}"


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


async def _retrying(what: str, attempt: Callable[[], Any]) -> Any:
    """Retry a transfer step on connection loss (a restarting node) with backoff."""
    delay = 0.2
    for n in range(RETRIES):
        try:
            return await attempt()
        except (ServiceUnavailable, httpx.TransportError) as e:
            if n == RETRIES - 1:
                raise ServiceUnavailable(f"{what} failed after {RETRIES} tries: {e}") from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
    raise AssertionError("unreachable")


async def upload(
    client: BaiClient, job: UploadJob, progress: Progress, chunk_size: int = CHUNK
) -> int:
    size = job.local.stat().st_size
    state_file = state_dir() / job.key(client.config.endpoint)
    ticket: dict[str, Any] | None = None
    offset = 0
    if state_file.exists():
        ticket = json.loads(state_file.read_text())
        try:
            offset = await _retrying("resume", lambda: _head(client, ticket))  # type: ignore[arg-type]
        except BaiError:
            ticket, offset = None, 0  # expired or finished elsewhere: start afresh
    if ticket is None:
        ticket = await _retrying(
            "request-upload",
            lambda: client.post(
                folder_path(job.folder, "/request-upload"), json={"path": job.remote, "size": size}
            ),
        )
        if size:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            state_file.write_text(json.dumps(ticket))
    progress(offset)
    with job.local.open("rb") as f:
        while offset < size:
            f.seek(offset)
            data = f.read(chunk_size)
            try:
                offset = await _patch(client, ticket, offset, data)
            except (ServiceUnavailable, httpx.TransportError, Conflict):
                # Connection lost or offset disagreement: ask the node where it stands.
                offset = await _retrying("resume", lambda: _head(client, ticket))  # type: ignore[arg-type]
            progress(offset)
    state_file.unlink(missing_ok=True)
    return size


def _upload_url(ticket: dict[str, Any]) -> httpx.URL:
    return httpx.URL(ticket["url"]).copy_with(params={"token": ticket["token"]})


async def _head(client: BaiClient, ticket: dict[str, Any]) -> int:
    resp = await client.send(
        client.http.build_request("HEAD", _upload_url(ticket), headers={"Tus-Resumable": "1.0.0"})
    )
    return int(resp.headers["Upload-Offset"])


async def _patch(client: BaiClient, ticket: dict[str, Any], offset: int, data: bytes) -> int:
    resp = await client.send(
        client.http.build_request(
            "PATCH",
            _upload_url(ticket),
            content=data,
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
    )
    return int(resp.headers["Upload-Offset"])


async def download(
    client: BaiClient,
    folder: str,
    remote: str,
    local: Path,
    progress: Progress,
    total: Callable[[int], None],
) -> int:
    """Download `remote` to `local` (overwriting it), resuming a `.bai-part` file."""
    part = local.with_name(local.name + ".bai-part")
    meta = local.with_name(local.name + ".bai-part.json")
    ticket = await _retrying(
        "request-download",
        lambda: client.post(folder_path(folder, "/request-download"), json={"path": remote}),
    )
    url = httpx.URL(ticket["url"]).copy_with(params={"token": ticket["token"]})
    for _ in range(RETRIES):
        have = part.stat().st_size if part.exists() else 0
        validator = json.loads(meta.read_text()).get("validator") if meta.exists() else None
        headers = {}
        if have and validator:
            headers = {"Range": f"bytes={have}-", "If-Range": validator}
        try:
            done = await _get(client, url, headers, part, meta, have, progress, total)
        except (ServiceUnavailable, httpx.TransportError):
            await asyncio.sleep(0.5)
            continue
        os.replace(part, local)
        meta.unlink(missing_ok=True)
        return done
    raise ServiceUnavailable(
        f"download of {remote} kept failing; run the command again to resume it"
    )


async def _get(
    client: BaiClient,
    url: httpx.URL,
    headers: dict[str, str],
    part: Path,
    meta: Path,
    have: int,
    progress: Progress,
    total: Callable[[int], None],
) -> int:
    request = client.http.build_request("GET", url, headers=headers)
    resp = await client.send(request, stream=True)
    try:
        if resp.status_code == 206:
            mode, done = "ab", have
        else:
            mode, done = "wb", 0
        length = int(resp.headers.get("Content-Length", 0))
        total(done + length)
        validator = resp.headers.get("ETag") or resp.headers.get("Last-Modified")
        meta.write_text(json.dumps({"validator": validator}))
        progress(done)
        with part.open(mode) as f:
            async for chunk in resp.aiter_bytes(1 << 20):
                f.write(chunk)
                done += len(chunk)
                progress(done)
        if length and done < have * (mode == "ab") + length:
            raise ServiceUnavailable("download ended early")
        return done
    except httpx.TransportError as e:
        raise ServiceUnavailable(f"download interrupted: {e}") from None
    finally:
        await resp.aclose()


async def list_files(client: BaiClient, folder: str, path: str) -> list[dict[str, Any]]:
    request = client.build(
        "GET", folder_path(folder, "/files"), params={"path": path, "format": "ndjson"}
    )
    resp = await client.send(request, stream=True)
    items = []
    try:
        async for line in resp.aiter_lines():
            if line.strip():
                items.append(json.loads(line))
    finally:
        await resp.aclose()
    return items
