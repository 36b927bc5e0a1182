"""Crash points: a real node killed with SIGKILL in the middle of an upload PATCH, a
delete-forever and a clone, then started again. Afterwards the database, the volume and the
usage agree, interrupted work finishes by itself, and nothing is left in staging or trash."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adversarial.helpers import (
    MIB,
    TUS,
    Live,
    answers_quickly,
    disk_usage,
    folder_dir,
    kill_node,
    make_files,
    set_limit,
    staged,
    start_node,
    used_bytes,
    wait_task,
)
from tests.harness import NodeProcess

ADMIN = "admin@bai.local"


def scope_dir(volume: Path, info: dict[str, Any]) -> Path:
    return volume / str(info["quota_scope_id"]).split(":")[1].replace("-", "")


def tree(path: Path) -> dict[str, int]:
    """Relative path → size of every regular file below `path`."""
    out: dict[str, int] = {}
    for dirpath, _, files in os.walk(path):
        for n in files:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, path)] = os.lstat(p).st_size
    return out


async def assert_consistent(live: Live, scope: Path) -> None:
    """The database, the volume and usage agree (given a few seconds to settle)."""
    admin = live.admin
    problems: list[str] = []
    for _ in range(40):
        problems = []
        for f in await admin.get("/folders"):
            on_disk = disk_usage(folder_dir(live.volume, f))
            if on_disk != (f["num_files"], f["cur_size"]):
                problems.append(
                    f"{f['name']}: recorded {(f['num_files'], f['cur_size'])}, disk {on_disk}"
                )
        used, disk = await used_bytes(admin, ADMIN), disk_usage(scope)[1]
        if used != disk:
            problems.append(f"scope used_bytes {used}, disk {disk}")
        if not problems:
            break
        await asyncio.sleep(0.25)
    assert not problems, "\n".join(problems)
    assert staged(live.volume) == [], f"staging keeps {staged(live.volume)}"
    trash = live.volume / ".bai-trash"
    assert not trash.exists() or os.listdir(trash) == [], f"trash keeps {os.listdir(trash)}"
    assert live.db("SELECT count(*) FROM quota_reservations") == [(0,)]
    assert live.db("SELECT count(*) FROM uploads") == [(0,)]
    assert live.db("SELECT status FROM bgtasks WHERE status NOT IN ('done', 'failed')") == []


async def slow_body(data: bytes, sent: list[int], pause: float) -> AsyncIterator[bytes]:
    for i in range(0, len(data), MIB):
        yield data[i : i + MIB]
        sent[0] = i + MIB
        await asyncio.sleep(pause)


def restart(proc: NodeProcess) -> NodeProcess:
    log = "".join(proc.output)
    assert "Traceback" not in log, "the node logged a traceback before the kill:\n" + log[-3000:]
    return NodeProcess(proc.data_dir).start()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """On tmpfs where there is one: a killed process loses nothing the page cache holds, so
    the crash is the same, and making and copying thousands of files is quick."""
    shm = Path("/dev/shm")
    if not os.access(shm, os.W_OK):
        yield tmp_path / "bai-data"
        return
    base = Path(tempfile.mkdtemp(prefix="bai-crash-", dir=shm))
    try:
        yield base / "bai-data"
    finally:
        shutil.rmtree(base, ignore_errors=True)


async def test_kill_during_an_upload_and_a_delete_forever(data_dir: Path) -> None:
    """Crash points: SIGKILL while a 24 MiB upload streams in and a 10,000-file folder is
    being deleted forever. After a restart the upload resumes from the node's offset and
    commits whole, the deletion finishes by itself, and everything agrees."""
    proc = start_node(data_dir)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            live = Live(proc, http)
            admin = live.admin
            await set_limit(admin, ADMIN, 1 << 30)  # quota claims are in play
            up = await admin.post("/folders", json={"name": "up"})
            doomed = await admin.post("/folders", json={"name": "doomed"})
            make_files(folder_dir(live.volume, doomed) / "bulk", 10_000)
            await admin.post("/admin/reconcile", json={"folder": "doomed"})
            data = os.urandom(24 * MIB)
            ticket = await admin.post(
                "/folders/up/request-upload", json={"path": "big.bin", "size": len(data)}
            )
            sent = [0]

            async def stream() -> None:
                with contextlib.suppress(httpx.HTTPError):  # the node dies under it
                    await http.patch(
                        f"{live.endpoint}/upload",
                        params={"token": ticket["token"]},
                        content=slow_body(data, sent, 0.03),
                        headers={**TUS, "Upload-Offset": "0"},
                    )

            streaming = asyncio.create_task(stream())
            while sent[0] < 8 * MIB:
                await asyncio.sleep(0.01)
            await admin.request("DELETE", "/folders/doomed")
            task = await admin.post("/folders/delete-from-trash-bin", json={"vfolder_id": "doomed"})
            deadline = time.monotonic() + 5
            while folder_dir(live.volume, doomed).exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.002)  # kill once its removal has begun
            assert proc.proc is not None
            proc.proc.send_signal(signal.SIGKILL)
            proc.proc.wait(timeout=10)
            await asyncio.wait_for(streaming, 10)
            assert sent[0] < len(data), "the upload was still streaming at the kill"
            trash = live.volume / ".bai-trash"
            assert os.listdir(trash), "the deletion was under way at the kill"

            proc = restart(proc)
            live = Live(proc, http)
            admin = live.admin
            head = await http.head(f"{live.endpoint}/upload", params={"token": ticket["token"]})
            assert head.status_code == 200, head.text
            offset = int(head.headers["upload-offset"])
            assert 0 <= offset <= sent[0], (offset, sent[0])
            r = await http.patch(
                f"{live.endpoint}/upload",
                params={"token": ticket["token"]},
                content=data[offset:],
                headers={**TUS, "Upload-Offset": str(offset)},
            )
            assert r.status_code == 204, r.text
            grant = await admin.post("/folders/up/request-download", json={"path": "big.bin"})
            got = await http.get(f"{live.endpoint}/download", params={"token": grant["token"]})
            assert hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()
            done = await wait_task(admin, task["bgtask_id"], timeout=30)
            assert done["status"] == "done", done
            assert not folder_dir(live.volume, doomed).exists()
            await assert_consistent(live, scope_dir(live.volume, up))
            await answers_quickly(admin, "after the restart")
    finally:
        kill_node(proc)
    assert "Traceback" not in "".join(proc.output), "".join(proc.output)[-3000:]


async def test_kill_during_a_clone(data_dir: Path) -> None:
    """Crash points: SIGKILL while a clone of 48 files copies. After a restart the clone
    task finishes by itself, the target holds exactly the source's files, the source is
    `ready` again, and the database, the volume and usage agree."""
    proc = start_node(data_dir)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            live = Live(proc, http)
            admin = live.admin
            await set_limit(admin, ADMIN, 1 << 30)
            src = await admin.post("/folders", json={"name": "src", "cloneable": True})
            for d in range(4):
                make_files(folder_dir(live.volume, src) / f"d{d}", 12, size=16 << 10)
            await admin.post("/admin/reconcile", json={"folder": "src"})
            res = await admin.post("/folders/src/clone", json={"target_name": "dst"})
            dst_dir = folder_dir(live.volume, res)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # kill once a few files are copied
                if dst_dir.exists() and sum(len(f) for _, _, f in os.walk(dst_dir)) >= 6:
                    break
                await asyncio.sleep(0.002)
            assert proc.proc is not None
            proc.proc.send_signal(signal.SIGKILL)
            proc.proc.wait(timeout=10)
            copied = sum(len(f) for _, _, f in os.walk(dst_dir))
            assert 0 < copied < 48, f"the clone was under way at the kill ({copied} files)"

            proc = restart(proc)
            live = Live(proc, http)
            admin = live.admin
            task = await wait_task(admin, res["bgtask_id"], timeout=40)
            assert task["status"] == "done", task
            folders = {f["name"]: f for f in await admin.get("/folders")}
            assert folders["dst"]["status"] == "ready" and folders["src"]["status"] == "ready"
            src_tree = tree(folder_dir(live.volume, src))
            assert tree(folder_dir(live.volume, folders["dst"])) == src_tree
            assert folders["dst"]["cur_size"] == sum(src_tree.values()) == 48 * (16 << 10)
            await assert_consistent(live, scope_dir(live.volume, src))
    finally:
        kill_node(proc)
    assert "Traceback" not in "".join(proc.output), "".join(proc.output)[-3000:]
