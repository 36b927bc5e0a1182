"""What a hostile compute session can plant in a folder it mounts — FIFOs, sockets, devices,
names that are not UTF-8, symlinks up and out, hardlinks into another folder — met by the
node: listed, never read, never hung on, never escaped through, and never able to blind the
usage watcher for other folders.

Tests that may read a FIFO run against a real node process with client timeouts: a node
that blocks on one fails the test instead of hanging the suite."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import socket
import stat
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx

from bai.folders.repository import set_status
from tests.adversarial.helpers import (
    Live,
    answers_quickly,
    folder_dir,
    forge,
    is_4xx,
    ls,
    msg,
    node_token_key,
    reopened_node,
    send,
    upload,
    wait_task,
)
from tests.conftest import InProcessNode, in_process_node, make_config

# ---- planting ------------------------------------------------------------------------------


def plant_socket(path: Path) -> bool:
    """A listening-socket file at `path` (bound in a short directory, then renamed: socket
    paths are limited to 108 bytes). False where it cannot be made here."""
    short = tempfile.mkdtemp(prefix="s", dir="/tmp")
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(os.path.join(short, "s"))
            try:
                os.rename(os.path.join(short, "s"), path)
            except OSError:
                return False
        return True
    finally:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(short, "s"))
        os.rmdir(short)


def plant_device(path: Path) -> bool:
    """A character device like /dev/zero (endless bytes) at `path`, where mknod is allowed."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 5))
    except OSError:
        return False
    return True


async def folder_info(client: Any, name: str) -> dict[str, Any]:
    info: dict[str, Any] = await client.get(f"/folders/{name}")
    return info


# ---- special files (real node) -------------------------------------------------------------


async def test_special_files_are_listed_with_their_type_and_never_read(live: Live) -> None:
    """Defect 1: a FIFO, a socket and a device in a folder are listed with their type;
    request-download, a download grant pointing at them, and a zip of their directory
    answer at once (4xx, or a zip without them) instead of blocking a worker thread."""
    mallory = await live.new_user("planted-special@example.com")
    info = await mallory.post("/folders", json={"name": "special"})
    root = folder_dir(live.volume, info)
    (root / "ok.txt").write_text("fine")
    (root / "sub").mkdir()
    (root / "sub" / "inner.txt").write_text("inner")
    os.mkfifo(root / "fifo")
    os.mkfifo(root / "sub" / "fifo2")
    os.symlink("fifo", root / "to-fifo")
    kinds = {"fifo": "FIFO", "to-fifo": "SYMLINK"}
    if plant_socket(root / "sock"):
        kinds["sock"] = "SOCKET"
    if plant_device(root / "zero"):
        kinds["zero"] = "DEVICE"

    listed = {e["name"]: e["type"] for e in await ls(mallory, "special")}
    for name, kind in kinds.items():
        assert listed.get(name) == kind, f"{name}: listed as {listed.get(name)}, want {kind}"

    key = node_token_key(live.data_dir)
    for name in [*kinds, "sub/fifo2"]:
        r = await asyncio.wait_for(
            send(mallory, "POST", "/folders/special/request-download", json={"path": name}), 5
        )
        assert is_4xx(r), f"request-download {name}: {r.status_code} {msg(r)}"
        token = forge(key, op="download", vol="local", vfid=info["id"], relpath=name)
        try:
            got = await asyncio.wait_for(
                live.http.get(f"{live.endpoint}/download", params={"token": token}), 5
            )
        except TimeoutError:
            raise AssertionError(f"GET /download of {name} hung (it opened a {name})") from None
        assert is_4xx(got), f"download {name}: {got.status_code} {got.content[:80]!r}"
    # The zip of the folder holds the regular files and directories, nothing else.
    for path in (".", "sub"):
        res = await mallory.post(
            "/folders/special/request-download", json={"path": path, "archive": True}
        )
        try:
            got = await asyncio.wait_for(
                live.http.get(f"{live.endpoint}/download", params={"token": res["token"]}), 10
            )
        except TimeoutError:
            raise AssertionError(f"zip of {path!r} holding a FIFO hung") from None
        assert got.status_code == 200, got.text[:200]
        names = set(zipfile.ZipFile(io.BytesIO(got.content)).namelist())
        want = {"ok.txt", "sub/", "sub/inner.txt"} if path == "." else {"inner.txt"}
        assert names == want, f"zip of {path!r}: {sorted(names)}"
    await answers_quickly(live.admin, "after the special files")


async def test_downloads_of_a_file_swapped_for_a_fifo_do_not_freeze_the_node(live: Live) -> None:
    """Defect 1: a download granted for a regular file that a session then replaces with a
    FIFO, fetched a dozen times at once (more than the node's worker threads): every fetch
    is answered 4xx at once, and another user's requests are answered meanwhile."""
    mallory = await live.new_user("planted-swap@example.com")
    alice = await live.new_user("planted-swap-alice@example.com")
    info = await mallory.post("/folders", json={"name": "swap"})
    await alice.post("/folders", json={"name": "alices"})
    root = folder_dir(live.volume, info)
    (root / "data.bin").write_bytes(b"d" * 1000)
    res = await mallory.post("/folders/swap/request-download", json={"path": "data.bin"})
    os.mkfifo(root / "tmp-fifo")
    os.replace(root / "tmp-fifo", root / "data.bin")  # swapped after the grant

    async def fetch() -> httpx.Response | None:
        try:
            return await asyncio.wait_for(
                live.http.get(f"{live.endpoint}/download", params={"token": res["token"]}), 8
            )
        except TimeoutError:
            return None

    attack = [asyncio.create_task(fetch()) for _ in range(12)]
    await asyncio.sleep(0.3)
    try:
        for _ in range(3):
            await answers_quickly(alice, "while FIFO downloads run")
            r = await asyncio.wait_for(
                send(alice, "GET", "/folders/alices/files", params={"format": "ndjson"}), 6
            )
            assert r.status_code == 200
    finally:
        results = await asyncio.gather(*attack)
    hung = sum(1 for r in results if r is None)
    assert hung == 0, f"{hung} of 12 downloads of a FIFO got no answer in 8 s"
    statuses = sorted({r.status_code for r in results if r is not None})
    assert all(400 <= s < 500 for s in statuses), statuses


async def test_clone_of_a_folder_with_special_files_skips_them(live: Live) -> None:
    """Defect 1: cloning a folder that holds a FIFO, a socket and a device finishes (it used
    to fail and leave its target in `error`), copies the regular files and leaves the
    special files out."""
    mallory = await live.new_user("planted-clone@example.com")
    info = await mallory.post("/folders", json={"name": "src", "cloneable": True})
    root = folder_dir(live.volume, info)
    await upload(mallory, "src", "ok.txt", b"fine")
    await upload(mallory, "src", "sub/inner.txt", b"inner!")
    os.mkfifo(root / "fifo")
    os.mkfifo(root / "sub" / "fifo2")
    plant_socket(root / "sock")
    plant_device(root / "zero")
    res = await mallory.post("/folders/src/clone", json={"target_name": "dst"})
    task = await wait_task(mallory, res["bgtask_id"], timeout=15)
    assert task["status"] == "done", task
    dst = await folder_info(mallory, "dst")
    assert dst["status"] == "ready", dst
    top = {e["name"]: e["type"] for e in await ls(mallory, "dst")}
    assert top == {"ok.txt": "FILE", "sub": "DIRECTORY"}, top
    assert [e["name"] for e in await ls(mallory, "dst", "sub")] == ["inner.txt"]
    assert (dst["num_files"], dst["cur_size"]) == (2, 10)
    await answers_quickly(live.admin, "after the clone")


async def test_a_folder_in_error_can_be_trashed_and_deleted_by_its_owner(
    node: InProcessNode,
) -> None:
    """Defect 1: a folder left in `error` (as a failed clone leaves its target) is its
    owner's to trash and delete forever; its bytes leave the disk."""
    mallory = await node.new_user("planted-error@example.com")
    info = await mallory.post("/folders", json={"name": "broken"})
    await upload(mallory, "broken", "left.bin", b"z" * 5000)
    async with node.node.engine.begin() as conn:
        await set_status(conn, uuid.UUID(info["id"]), "error")
    assert (await folder_info(mallory, "broken"))["status"] == "error"
    r = await send(mallory, "DELETE", "/folders/broken")
    assert r.status_code == 204, f"owner's trash of an error folder: {r.status_code} {msg(r)}"
    r = await send(
        mallory, "POST", "/folders/delete-from-trash-bin", json={"vfolder_id": info["id"]}
    )
    assert r.status_code == 202, f"owner's delete-forever: {r.status_code} {msg(r)}"
    task = await wait_task(mallory, r.json()["bgtask_id"], node=node)
    assert task["status"] == "done", task
    volume = node.config.volumes["local"].path
    assert volume is not None
    assert not folder_dir(volume, info).exists()


# ---- names that are not UTF-8 --------------------------------------------------------------


# Bytes that are not UTF-8 are shown as U+EF00 + byte (U+EF80..U+EFFF) and read back the same.
def shown(raw: bytes) -> str:
    out = []
    text = raw.decode("utf-8", "surrogateescape")
    for ch in text:
        out.append(chr(0xEF00 + (ord(ch) - 0xDC00)) if 0xDC80 <= ord(ch) <= 0xDCFF else ch)
    return "".join(out)


async def test_non_utf8_names_can_be_listed_read_renamed_and_deleted(
    node: InProcessNode,
) -> None:
    """Defect 2: names that are not UTF-8 (planted with bytes paths) are listed — each bad
    byte 0xHH as U+EF00+0xHH — and that same spelling reads, zips, renames and deletes them."""
    mallory = await node.new_user("planted-bytes@example.com")
    info = await mallory.post("/folders", json={"name": "bytes"})
    volume = node.config.volumes["local"].path
    assert volume is not None
    root = os.fsencode(folder_dir(volume, info))
    os.mkdir(root + b"/dir\xff")
    with open(root + b"/dir\xff/in\xfe.txt", "wb") as f:
        f.write(b"inside")
    with open(root + b"/f\xe9\x80.txt", "wb") as f:
        f.write(b"latin")

    dir_name, file_name, inner = shown(b"dir\xff"), shown(b"f\xe9\x80.txt"), shown(b"in\xfe.txt")
    assert dir_name == "dir\uefff" and file_name == "f\uefe9\uef80.txt"
    top = {e["name"]: e["type"] for e in await ls(mallory, "bytes")}
    assert top == {dir_name: "DIRECTORY", file_name: "FILE"}, top
    r = await send(mallory, "GET", "/folders/bytes/files", params={"path": "."})
    assert r.status_code == 200, msg(r)
    official = {e["filename"] for e in json.loads(r.json()["files"])}
    assert official == {dir_name, file_name}
    assert [e["name"] for e in await ls(mallory, "bytes", dir_name)] == [inner]

    res = await mallory.post("/folders/bytes/request-download", json={"path": file_name})
    got = await node.http.get("/download", params={"token": res["token"]})
    assert got.status_code == 200 and got.content == b"latin"
    res = await mallory.post("/folders/bytes/request-download", json={"path": ".", "archive": True})
    got = await node.http.get("/download", params={"token": res["token"]})
    assert got.status_code == 200, got.text[:200]
    assert len(zipfile.ZipFile(io.BytesIO(got.content)).namelist()) == 3

    r = await send(
        mallory,
        "POST",
        "/folders/bytes/rename-file",
        json={"target_path": file_name, "new_name": "fixed.txt"},
    )
    assert r.status_code == 200, msg(r)
    assert os.path.exists(root + b"/fixed.txt") and not os.path.exists(root + b"/f\xe9\x80.txt")
    # The spelling goes both ways: a new name in U+EF80..U+EFFF makes those bytes on disk.
    r = await send(
        mallory,
        "POST",
        "/folders/bytes/rename-file",
        json={"target_path": dir_name, "new_name": shown(b"dir\xfe")},
    )
    assert r.status_code == 200, msg(r)
    assert os.path.isdir(root + b"/dir\xfe")
    r = await send(
        mallory,
        "DELETE",
        "/folders/bytes/delete-files",
        json={"files": [shown(b"dir\xfe")], "recursive": True},
    )
    assert r.status_code == 200, msg(r)
    assert sorted(os.listdir(root)) == [b"fixed.txt"]


async def wait_usage(
    client: Any, name: str, want: tuple[int, int], timeout: float
) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    have = (-1, -1)
    while time.monotonic() < deadline:
        info = await folder_info(client, name)
        have = (info["num_files"], info["cur_size"])
        if have == want:
            return have
        await asyncio.sleep(0.25)  # the node's watcher runs on this loop meanwhile
    return have


async def test_a_non_utf8_name_does_not_stop_the_usage_watcher(node: InProcessNode) -> None:
    """Defect 2: after a session makes `dir\\xff` in one folder, files written behind the
    node's back into another user's folder are still counted within seconds."""
    mallory = await node.new_user("watch-bytes@example.com")
    alice = await node.new_user("watch-alice@example.com")
    volume = node.config.volumes["local"].path
    assert volume is not None
    m = await mallory.post("/folders", json={"name": "hostile"})
    a = await alice.post("/folders", json={"name": "victim"})
    await asyncio.sleep(1.0)  # both folders are watched
    root = os.fsencode(folder_dir(volume, m))
    os.mkdir(root + b"/dir\xff")
    with open(root + b"/dir\xff/f\xfe", "wb") as f:
        f.write(b"12345")
    await asyncio.sleep(1.0)  # the watcher meets the name
    adir = folder_dir(volume, a)
    for i in range(3):
        (adir / f"behind{i}.bin").write_bytes(b"b" * 1000 * (i + 1))
    have = await wait_usage(alice, "victim", (3, 6000), timeout=8)
    assert have == (3, 6000), f"alice's folder counts {have}, want (3, 6000) files/bytes"
    # The hostile folder is counted too, names and all.
    have = await wait_usage(mallory, "hostile", (1, 5), timeout=4)
    assert have == (1, 5), f"the folder with the name counts {have}"


async def test_files_written_at_once_into_a_new_folder_are_counted(node: InProcessNode) -> None:
    """Defect 2 (the watcher's own race): a new user's first folder, filled behind the
    node's back the moment it exists — before the watcher has set watches on its new
    directories — is counted within seconds, not at the next periodic rescan."""
    alice = await node.new_user("watch-new@example.com")
    volume = node.config.volumes["local"].path
    assert volume is not None
    await asyncio.sleep(1.0)  # the node's start-up scans are behind it
    a = await alice.post("/folders", json={"name": "fresh"})
    sub = folder_dir(volume, a) / "x" / "y"
    sub.mkdir(parents=True)
    (sub / "at-once.bin").write_bytes(b"n" * 777)
    have = await wait_usage(alice, "fresh", (1, 777), timeout=8)
    assert have == (1, 777), f"the new folder counts {have}, want (1, 777)"


async def test_files_written_while_the_node_was_down_are_counted_after_start(
    tmp_path: Path,
) -> None:
    """Defect 2: the node schedules reconcile scans itself — files written behind its back
    while it was stopped are counted soon after it starts, with no admin reconcile."""
    config = make_config(tmp_path)
    async with in_process_node(config) as n:
        info = await n.admin.post("/folders", json={"name": "offline"})
        keys = n.admin.config
    volume = config.volumes["local"].path
    assert volume is not None
    for i in range(4):
        (folder_dir(volume, info) / f"while-down{i}").write_bytes(b"w" * 2500)
    async with reopened_node(config, keys) as n:
        have = await wait_usage(n.admin, "offline", (4, 10_000), timeout=8)
        assert have == (4, 10_000), f"after a restart the folder counts {have}, want (4, 10000)"


async def test_a_symlink_up_and_out_does_not_misattribute_changes(tmp_path: Path) -> None:
    """Defect 3: a link `../../../../..` in folder A (it reaches above the volume), there
    when the node starts, does not make files written into folder B, created later, count
    for A: B counts them, A does not."""
    config = make_config(tmp_path)
    volume = config.volumes["local"].path
    assert volume is not None
    async with in_process_node(config) as n:
        mallory = await n.new_user("watch-link@example.com")
        alice = await n.new_user("watch-link-alice@example.com")
        a = await mallory.post("/folders", json={"name": "a"})
        os.symlink("../../../../..", folder_dir(volume, a) / "up")
        keys = (n.admin.config, mallory.config, alice.config)
    async with reopened_node(config, keys[0]) as n:
        mallory = n.client(keys[1].access_key, keys[1].secret_key)
        alice = n.client(keys[2].access_key, keys[2].secret_key)
        await asyncio.sleep(1.0)
        b = await alice.post("/folders", json={"name": "b"})
        await asyncio.sleep(1.0)  # B's new directories are watched
        bdir = folder_dir(volume, b)
        (bdir / "sub").mkdir()
        for i in range(4):
            (bdir / "sub" / f"w{i}.bin").write_bytes(b"w" * 4000)
        have = await wait_usage(alice, "b", (4, 16_000), timeout=8)
        assert have == (4, 16_000), f"B counts {have}, want (4, 16000): credited elsewhere?"
        ainfo = await folder_info(mallory, "a")
        assert ainfo["cur_size"] < 16_000, f"A was credited with B's bytes: {ainfo['cur_size']}"


# ---- hardlinks -----------------------------------------------------------------------------


async def test_hardlinks_into_another_folder_never_write_through(node: InProcessNode) -> None:
    """Suite: a hardlink in folder A to a file of folder B (a session mounting both can make
    one). Uploading over it, moving it and deleting it through A never change B's file."""
    mallory = await node.new_user("hardlink@example.com")
    volume = node.config.volumes["local"].path
    assert volume is not None
    a = await mallory.post("/folders", json={"name": "ha"})
    b = await mallory.post("/folders", json={"name": "hb"})
    await upload(mallory, "hb", "orig.txt", b"original")
    borig = folder_dir(volume, b) / "orig.txt"
    os.link(borig, folder_dir(volume, a) / "link.txt")
    os.link(borig, folder_dir(volume, a) / "link2.txt")
    before = os.stat(borig)

    await upload(mallory, "ha", "link.txt", b"overwritten through A")
    r = await send(
        mallory, "POST", "/folders/ha/move-file", json={"src": "link2.txt", "dst": "moved.txt"}
    )
    assert r.status_code == 200, msg(r)
    r = await send(mallory, "DELETE", "/folders/ha/delete-files", json={"files": ["moved.txt"]})
    assert r.status_code == 200, msg(r)
    assert borig.read_bytes() == b"original"
    assert os.stat(borig).st_ino == before.st_ino
    res = await mallory.post("/folders/hb/request-download", json={"path": "orig.txt"})
    got = await node.http.get("/download", params={"token": res["token"]})
    assert got.content == b"original"
    await answers_quickly(node.admin)
