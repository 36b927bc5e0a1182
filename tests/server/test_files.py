"""File operations over HTTP, and every path-escape attempt refused with nothing touched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bai.errors import Conflict, InvalidPath, InvalidRequest, NotFound
from tests.conftest import InProcessNode


def tree(root: Path) -> dict[str, bytes | None]:
    """Everything under a directory, to prove an operation changed nothing."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = Path(dirpath) / n
            rel = str(p.relative_to(root))
            out[rel] = p.read_bytes() if p.is_file() and not p.is_symlink() else None
    return out


async def ls(node: InProcessNode, folder: str, path: str = ".") -> dict[str, dict[str, object]]:
    req = node.admin.build(
        "GET", f"/folders/{folder}/files", params={"path": path, "format": "ndjson"}
    )
    res = await node.admin.send(req)
    return {d["name"]: d for d in map(json.loads, res.text.splitlines())}


async def test_official_ls_shape(node: InProcessNode) -> None:
    await node.admin.post("/folders", json={"name": "f"})
    await node.admin.post("/folders/f/mkdir", json={"path": "sub"})
    # The official client sends a GET with a JSON body and reads `files` as a JSON string.
    req = node.admin.build("GET", "/folders/f/files", json={"path": "."})
    res = await node.admin.send(req)
    files = json.loads(res.json()["files"])
    assert files[0]["filename"] == "sub" and files[0]["mode"].startswith("d")
    assert isinstance(files[0]["mtime"], float)


async def test_mkdir_move_rename_delete(node: InProcessNode) -> None:
    await node.admin.post("/folders", json={"name": "f"})
    await node.admin.post("/folders/f/mkdir", json={"path": "a/b/c", "parents": True})
    with pytest.raises(Conflict):
        await node.admin.post("/folders/f/mkdir", json={"path": "a"})
    await node.admin.post("/folders/f/mkdir", json={"path": "a", "exist_ok": True})
    with pytest.raises(NotFound):
        await node.admin.post("/folders/f/mkdir", json={"path": "x/y"})
    await node.admin.post("/folders/f/move-file", json={"src": "a/b", "dst": "."})
    assert set(await ls(node, "f")) == {"a", "b"}
    await node.admin.post("/folders/f/rename-file", json={"target_path": "b", "new_name": "bee"})
    assert set(await ls(node, "f")) == {"a", "bee"}
    with pytest.raises(InvalidRequest, match="not empty"):
        await node.admin.request("DELETE", "/folders/f/delete-files", json={"files": ["bee"]})
    await node.admin.request(
        "DELETE", "/folders/f/delete-files", json={"files": ["bee"], "recursive": True}
    )
    assert set(await ls(node, "f")) == {"a"}
    with pytest.raises(InvalidRequest, match="255 bytes"):
        await node.admin.post("/folders/f/mkdir", json={"path": "é" * 128})


ESCAPES = [
    "../outside",
    "a/../../outside",
    "/etc/passwd",
    "..",
    "a/../..",
    "nul\x00byte",
    "line\nbreak",
    "bidi\u202etxt",
    "zero\u200bwidth",
    "x" * 256,
]


@pytest.mark.parametrize("bad", ESCAPES)
async def test_path_escapes_are_refused_and_touch_nothing(node: InProcessNode, bad: str) -> None:
    res = await node.admin.post("/folders", json={"name": "jail"})
    await node.admin.post("/folders/jail/mkdir", json={"path": "a"})
    vol = node.config.volumes["local"].path
    assert vol is not None
    before = tree(vol)
    attempts = [
        ("GET", "/folders/jail/files", {"path": bad}),
        ("POST", "/folders/jail/mkdir", {"path": bad, "parents": True}),
        ("POST", "/folders/jail/move-file", {"src": "a", "dst": bad}),
        ("POST", "/folders/jail/move-file", {"src": bad, "dst": "a"}),
        ("POST", "/folders/jail/rename-file", {"target_path": "a", "new_name": bad}),
        ("DELETE", "/folders/jail/delete-files", {"files": [bad], "recursive": True}),
        ("POST", "/folders/jail/request-upload", {"path": bad, "size": 3}),
        ("POST", "/folders/jail/request-download", {"path": bad}),
    ]
    for method, path, body in attempts:
        with pytest.raises(InvalidPath):
            req = node.admin.build(method, path, json=body)
            await node.admin.send(req)
    assert tree(vol) == before
    assert res["name"] == "jail"


async def test_symlink_planted_in_folder_is_not_a_door(node: InProcessNode, tmp_path: Path) -> None:
    res = await node.admin.post("/folders", json={"name": "jail"})
    vol = node.config.volumes["local"].path
    assert vol is not None
    root = next(p for p in vol.rglob(res["id"].replace("-", "")[4:]))
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(tmp_path, root / "door")  # as a compute session could do
    entries = await ls(node, "jail")
    assert entries["door"]["type"] == "SYMLINK"
    for method, path, body in [
        ("GET", "/folders/jail/files", {"path": "door"}),
        ("POST", "/folders/jail/request-download", {"path": "door/secret.txt"}),
        ("POST", "/folders/jail/request-upload", {"path": "door/new.txt", "size": 1}),
        ("POST", "/folders/jail/mkdir", {"path": "door/x", "parents": True}),
    ]:
        with pytest.raises(InvalidPath):
            await node.admin.send(node.admin.build(method, path, json=body))
    await node.admin.request(
        "DELETE", "/folders/jail/delete-files", json={"files": ["door"], "recursive": True}
    )
    assert secret.read_text() == "top secret"
