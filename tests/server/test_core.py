"""The shared core every transport uses: quota claims on every write path, errno-mapped
errors for what a session can plant, host names, name uniqueness, task access, tidy removal."""

from __future__ import annotations

import asyncio
import io
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bai.errors import BaiError, Conflict, InvalidRequest, NotFound, QuotaExceeded
from tests.conftest import InProcessNode
from tests.server.test_transfers import patch, ticket

MIB = 1 << 20


def folder_dir(node: InProcessNode, info: dict[str, Any]) -> Path:
    root = node.config.volumes[info["host"]].path
    assert root is not None
    h = info["id"].replace("-", "")
    return root / info["quota_scope_id"].split(":")[1].replace("-", "") / h[:2] / h[2:4] / h[4:]


async def wait_task(node: InProcessNode, task_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task: dict[str, Any] = await node.admin.get(f"/tasks/{task_id}")
        if task["status"] in ("done", "failed"):
            return task
        await asyncio.sleep(0.1)
    raise AssertionError(f"task {task_id} did not finish")


async def limit_admin(node: InProcessNode, limit: int) -> None:
    await node.admin.request(
        "PUT", "/admin/quota-scopes/local/admin@bai.local", json={"limit": limit}
    )


async def used(node: InProcessNode) -> int:
    state = await node.admin.get("/admin/quota-scopes/local/admin@bai.local")
    return int(state["used_bytes"])


async def upload(node: InProcessNode, folder: str, path: str, data: bytes) -> None:
    url = await ticket(node, "upload", folder, path=path, size=len(data))
    r = await patch(node, url, 0, data)
    assert r.status_code == 204, r.text


async def test_clones_never_cross_the_quota(node: InProcessNode) -> None:
    """Each clone is admitted against what is used and claimed, and its copy claims quota as
    bytes arrive: together they stop at the limit with the one "quota exceeded" error."""
    await limit_admin(node, 10 * MIB)
    for name in ("a", "b"):
        await node.admin.post("/folders", json={"name": name, "cloneable": True})
        await upload(node, name, "x.bin", os.urandom(2 * MIB))
        await upload(node, name, "d/y.bin", os.urandom(MIB))
    refused: list[str] = []
    tasks = []
    for name in ("a", "b"):  # 6 MiB used; 3 MiB more each would make 12 MiB
        try:
            res = await node.admin.post(f"/folders/{name}/clone", json={"target_name": name + "2"})
            tasks.append(res["bgtask_id"])
        except QuotaExceeded as e:
            refused.append(e.msg)
    results = [await wait_task(node, t) for t in tasks]
    refused += [r["message"] for r in results if r["status"] == "failed"]
    assert len(refused) == 1 and "quota exceeded" in refused[0]
    assert "admin@bai.local" in refused[0]  # the scope by its owner's e-mail, not a UUID
    assert await used(node) <= 10 * MIB
    listed = {f["name"]: f for f in await node.admin.get("/folders")}
    for name in ("a2", "b2"):
        if name in listed and listed[name]["status"] == "error":
            # A failed clone keeps no partial data, and its owner can remove it.
            assert listed[name]["cur_size"] == 0
            await node.admin.request("DELETE", f"/folders/{name}")
            await node.admin.post("/folders/delete-from-trash-bin", json={"vfolder_id": name})


async def test_uploads_in_flight_count_against_the_quota(node: InProcessNode) -> None:
    """A requested upload claims its declared size at once: a second one that would not fit
    beside it is refused at request time, and the room comes back when the first ends."""
    await limit_admin(node, 10 * MIB)
    await node.admin.post("/folders", json={"name": "q"})
    data = os.urandom(6 * MIB)
    first = await ticket(node, "upload", "q", path="one", size=len(data))
    with pytest.raises(QuotaExceeded, match=r"has 4\.0 MiB left of 10\.0 MiB"):
        await ticket(node, "upload", "q", path="two", size=len(data))
    assert (await patch(node, first, 0, data)).status_code == 204
    assert await used(node) == 6 * MIB
    # The claim became usage; 4 MiB fit, and a claim for them holds until that upload ends.
    small = await ticket(node, "upload", "q", path="small", size=4 * MIB)
    with pytest.raises(QuotaExceeded):
        await ticket(node, "upload", "q", path="more", size=1)
    assert (await patch(node, small, 0, os.urandom(4 * MIB))).status_code == 204
    assert await used(node) == 10 * MIB
    listing = await node.admin.request("GET", "/folders/q/files", params={"path": "."})
    assert '"two"' not in listing["files"]  # nothing partial


async def test_a_planted_symlink_loop_and_fifo_give_clear_errors(node: InProcessNode) -> None:
    info = await node.admin.post("/folders", json={"name": "planted"})
    root = folder_dir(node, info)
    os.symlink("loop", root / "loop")
    os.mkfifo(root / "fifo")
    (root / "ok.txt").write_text("fine")
    with pytest.raises(InvalidRequest, match="symlink loop"):
        await node.admin.post("/folders/planted/request-download", json={"path": "loop"})
    with pytest.raises(InvalidRequest, match="fifo"):
        await node.admin.post("/folders/planted/request-download", json={"path": "fifo"})
    with pytest.raises(InvalidRequest, match="not a directory"):
        await node.admin.request("GET", "/folders/planted/files", params={"path": "loop"})
    # The zip of the folder holds the regular file and leaves the loop and the FIFO out.
    url = await ticket(node, "download", "planted", path=".", archive=True)
    r = await node.http.get(url)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.namelist() == ["ok.txt"]
        stamp = zf.getinfo("ok.txt").date_time
    mtime = time.localtime(os.stat(root / "ok.txt").st_mtime)[:6]
    assert stamp == (*mtime[:5], mtime[5] // 2 * 2)  # zip keeps 2-second steps


async def test_hosts_of_other_nodes_are_refused(node: InProcessNode) -> None:
    res = await node.admin.post("/folders", json={"name": "qualified", "host": "local:local"})
    assert res["host"] == "local"
    with pytest.raises(NotFound, match="belongs to node 'elsewhere'"):
        await node.admin.post("/folders", json={"name": "foreign", "host": "elsewhere:local"})
    with pytest.raises(NotFound, match="no storage host"):
        await node.admin.post("/folders", json={"name": "foreign", "host": "local:mars"})


async def test_same_name_creates_race_to_exactly_one(node: InProcessNode) -> None:
    async def create() -> str:
        try:
            await node.admin.post("/folders", json={"name": "contested"})
            return "made"
        except Conflict:
            return "conflict"

    outcomes = await asyncio.gather(*(create() for _ in range(20)))
    assert outcomes.count("made") == 1 and outcomes.count("conflict") == 19
    listed = [f for f in await node.admin.get("/folders") if f["name"] == "contested"]
    assert len(listed) == 1


async def test_tasks_are_readable_only_by_who_sees_the_folder(node: InProcessNode) -> None:
    await node.admin.post("/folders", json={"name": "mine", "cloneable": True})
    res = await node.admin.post("/folders/mine/clone", json={"target_name": "mine2"})
    await wait_task(node, res["bgtask_id"])
    bob = await node.new_user("bob@example.com")
    with pytest.raises(NotFound):
        await bob.get(f"/tasks/{res['bgtask_id']}")
    with pytest.raises(NotFound):
        await bob.get("/events/background-task", params={"task_id": res["bgtask_id"]})


async def test_deleted_folders_leave_no_empty_prefix_directories(node: InProcessNode) -> None:
    info = await node.admin.post("/folders", json={"name": "gone"})
    path = folder_dir(node, info)
    await upload(node, "gone", "x", b"x")
    await node.admin.request("DELETE", "/folders/gone")
    res = await node.admin.post("/folders/delete-from-trash-bin", json={"vfolder_id": "gone"})
    await wait_task(node, res["bgtask_id"])
    assert not path.exists() and not path.parent.exists() and not path.parent.parent.exists()
    assert path.parent.parent.parent.is_dir()  # the quota scope's directory stays


async def test_error_classes_carry_their_errno() -> None:
    import errno

    from bai.errors import from_os_error

    for code in (
        errno.ENOENT,
        errno.EEXIST,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENOTEMPTY,
        errno.ELOOP,
        errno.EACCES,
        errno.EROFS,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.ENAMETOOLONG,
    ):
        err = from_os_error(OSError(code, os.strerror(code)), "p")
        assert isinstance(err, BaiError) and err.errno == code and 400 <= err.status < 600
        assert err.status != 500, code
