"""Shared pieces of the adversarial suite: raw signed requests (answers of any status come
back, never raised), a real node to attack, files planted on disk as a compute session would
plant them, and snapshots of a volume to prove a refused request changed nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import logging
import os
import re
import signal
import sqlite3
import stat
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt

from bai.client import BaiClient, ClientConfig
from bai.config import NodeConfig
from bai.node import Node
from bai.secrets import NodeSecret
from bai.server.http.app import create_app
from tests.asgi import same_loop_client
from tests.conftest import InProcessNode, _Tracebacks
from tests.harness import NodeProcess

T = TypeVar("T")
KIB = 1 << 10
MIB = 1 << 20
TUS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
# How fast another user's request must be answered while an attack runs.
ANSWER_WITHIN = 2.0
# An absolute host path in a message shown to a user: `/tmp/…`, `'/srv/…'`.
ABS_PATH_RE = re.compile(r"(?:^|[\s'\"(=:])(/[^\s'\"]+/[^\s'\"]*)")


# ---- requests ------------------------------------------------------------------------------


async def send(
    client: BaiClient,
    method: str,
    path: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A signed request; the answer whatever its status. `json` is encoded here with
    escapes, so lone surrogates and control characters travel as JSON allows them."""
    if json is not None:
        content = jsonlib.dumps(json).encode()
    request = client.build(method, path, params=params, content=content)
    if headers:
        request.headers.update(headers)
    return await client.http.send(request)


async def timed(aw: Awaitable[T]) -> tuple[T, float]:
    t0 = time.monotonic()
    result = await aw
    return result, time.monotonic() - t0


async def answers_quickly(client: BaiClient, what: str = "") -> float:
    """Another user's ordinary request: it must come back, 200, within ANSWER_WITHIN."""
    t0 = time.monotonic()
    try:
        r = await asyncio.wait_for(send(client, "GET", "/folders"), ANSWER_WITHIN * 3)
    except TimeoutError:
        raise AssertionError(
            f"another user's GET /folders got no answer in {ANSWER_WITHIN * 3:.0f} s {what}"
        ) from None
    took = time.monotonic() - t0
    assert r.status_code == 200, r.text
    assert took < ANSWER_WITHIN, f"another user's GET /folders took {took:.2f} s {what}"
    return took


def is_4xx(r: httpx.Response) -> bool:
    return 400 <= r.status_code < 500


def msg(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:300]
    return str(body.get("msg", body)) if isinstance(body, dict) else str(body)[:300]


async def wait_task(
    client: BaiClient, task_id: str, timeout: float = 30.0, node: InProcessNode | None = None
) -> dict[str, Any]:
    """A background task's end. For an in-process node its runner is nudged on this loop
    (the app runs on the test client's own loop, whose wake-ups this loop does not see)."""
    deadline = time.monotonic() + timeout
    task: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if node is not None:
            node.node.tasks.wake()
        task = await client.get(f"/tasks/{task_id}")
        if task["status"] in ("done", "failed"):
            return task
        await asyncio.sleep(0.1)
    raise AssertionError(f"task {task_id} did not finish in {timeout} s: {task}")


async def new_user(admin: BaiClient, email: str) -> BaiClient:
    res = await admin.post("/admin/users", json={"email": email})
    kp = res["keypair"]
    return BaiClient(
        ClientConfig(admin.config.endpoint, kp["access_key"], kp["secret_key"]), http=admin.http
    )


async def set_limit(admin: BaiClient, email: str, limit: int) -> None:
    await admin.request("PUT", f"/admin/quota-scopes/local/{email}", json={"limit": limit})


async def used_bytes(admin: BaiClient, email: str) -> int:
    state = await admin.get(f"/admin/quota-scopes/local/{email}")
    return int(state["used_bytes"])


async def ls(client: BaiClient, folder: str, path: str = ".") -> list[dict[str, Any]]:
    r = await send(
        client, "GET", f"/folders/{folder}/files", params={"path": path, "format": "ndjson"}
    )
    assert r.status_code == 200, f"ls {path!r}: {r.status_code} {msg(r)}"
    return [jsonlib.loads(line) for line in r.text.splitlines() if line.strip()]


async def upload(client: BaiClient, folder: str, path: str, data: bytes) -> None:
    res = await client.post(
        f"/folders/{folder}/request-upload", json={"path": path, "size": len(data)}
    )
    if data:
        r = await client.http.patch(
            f"{client.config.endpoint}/upload",
            params={"token": res["token"]},
            content=data,
            headers={**TUS, "Upload-Offset": "0"},
        )
        assert r.status_code == 204, r.text


def forge(key: bytes, **claims: Any) -> str:
    """A transfer token signed with the node's own key: what a grant with these claims
    would be, to prove the transfer routes check paths themselves."""
    now = int(time.time())
    body = {"archive": False, "size": 0, "session": "", "iat": now, "exp": now + 600, **claims}
    return jwt.encode(body, key, algorithm="HS256")


def node_token_key(data_dir: Path) -> bytes:
    return NodeSecret.load_or_create(data_dir / "node.secret").derive(b"transfer-tokens")


# ---- disk ----------------------------------------------------------------------------------


def folder_dir(volume: Path, info: dict[str, Any]) -> Path:
    h = str(info["id"]).replace("-", "")
    scope = str(info["quota_scope_id"]).split(":")[1].replace("-", "")
    return volume / scope / h[:2] / h[2:4] / h[4:]


Snapshot = dict[bytes, tuple[int, int, int, int, bytes]]


def snapshot(*roots: Path) -> Snapshot:
    """Every entry below `roots` (bytes names; symlinks not followed): kind, size, mtime of
    regular files, mode, link target."""
    out: Snapshot = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                try:
                    s = os.lstat(p)
                except FileNotFoundError:
                    continue
                reg = stat.S_ISREG(s.st_mode)
                target = os.readlink(p) if stat.S_ISLNK(s.st_mode) else b""
                out[p] = (
                    stat.S_IFMT(s.st_mode),
                    s.st_size if reg else 0,
                    s.st_mtime_ns if reg else 0,
                    s.st_mode & 0o7777,
                    target,
                )
    return out


def diff(before: Snapshot, after: Snapshot) -> str:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    parts = []
    for label, keys in (("added", added), ("removed", removed), ("changed", changed)):
        if keys:
            parts.append(f"{label}: " + ", ".join(os.fsdecode(k) for k in keys[:8]))
    return "; ".join(parts)


def disk_usage(path: Path) -> tuple[int, int]:
    """(files, bytes) below `path` as the node counts them: every entry that is not a
    directory, by its lstat size."""
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(os.fsencode(path)):
        for n in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            files += 1
            size += os.lstat(os.path.join(dirpath, n)).st_size
    return files, size


def make_files(directory: Path, count: int, size: int = 0, prefix: str = "f") -> int:
    """`count` files written behind the node's back, quickly (mknod for empty ones)."""
    directory.mkdir(parents=True, exist_ok=True)
    data = b"x" * size
    base = os.fsencode(directory)
    for i in range(count):
        path = os.path.join(base, f"{prefix}{i:06d}".encode())
        if not data:
            os.mknod(path)
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT)
        os.write(fd, data)
        os.close(fd)
    return count * size


# ---- a real node ---------------------------------------------------------------------------


def start_node(data_dir: Path, toml: str = "") -> NodeProcess:
    if toml:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "node.toml").write_text(toml)
    return NodeProcess(data_dir).start()


def kill_node(proc: NodeProcess, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Stop a node; one that does not stop in time (a frozen node) is killed."""
    assert proc.proc is not None
    if proc.proc.poll() is None:
        proc.proc.send_signal(sig)
    try:
        proc.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.proc.kill()
        proc.proc.wait(timeout=10)


@dataclass
class Live:
    """A real `bai serve` process and an HTTP client (with room for many connections)."""

    proc: NodeProcess
    http: httpx.AsyncClient
    volume_path: Path | None = None  # where `[volume.local]` is, if not the default

    @property
    def endpoint(self) -> str:
        return self.proc.endpoint

    @property
    def data_dir(self) -> Path:
        return self.proc.data_dir

    @property
    def volume(self) -> Path:
        return self.volume_path or self.proc.data_dir / "volumes/local"

    @property
    def admin(self) -> BaiClient:
        env = self.proc.client_env()
        return BaiClient(
            ClientConfig(self.endpoint, env["BACKEND_ACCESS_KEY"], env["BACKEND_SECRET_KEY"]),
            http=self.http,
        )

    async def new_user(self, email: str) -> BaiClient:
        return await new_user(self.admin, email)

    def log_mark(self) -> int:
        return len(self.proc.output)

    def log_since(self, mark: int) -> str:
        return "".join(self.proc.output[mark:])

    def db(self, query: str) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(f"file:{self.data_dir / 'bai.db'}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()


def staged(volume: Path) -> list[str]:
    staging = volume / ".bai-staging"
    return sorted(os.listdir(staging)) if staging.is_dir() else []


# ---- an in-process node, started again on the same data --------------------------------


@contextlib.asynccontextmanager
async def reopened_node(config: NodeConfig, keys: ClientConfig) -> AsyncIterator[InProcessNode]:
    """The node of `config` started again in this process (the bootstrap admin's secret is
    shown only at the first start, so its keys are passed in). No traceback may be logged."""
    tracebacks = _Tracebacks()
    logging.getLogger("bai").addHandler(tracebacks)
    try:
        async with Node(config) as node:
            app = create_app(node)
            async with same_loop_client(app, "http://testserver.local") as http:
                admin = BaiClient(
                    ClientConfig("http://testserver.local", keys.access_key, keys.secret_key),
                    http=http,
                )
                yield InProcessNode(app, http, config, admin, node)
    finally:
        logging.getLogger("bai").removeHandler(tracebacks)
    assert not tracebacks.records, "the node logged a traceback: " + "; ".join(
        f"{r.name}: {r.getMessage()}" for r in tracebacks.records
    )
