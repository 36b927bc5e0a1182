"""`bai vfolder` as a user types it, against a live node."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.harness import NodeProcess, run_bai

pytestmark = pytest.mark.node


def ok(*args: str, env: dict[str, str], cwd: Path | None = None, input: str | None = None) -> str:
    res = run_bai(*args, env=env, cwd=cwd, input=input)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def js(*args: str, env: dict[str, str]) -> object:
    return json.loads(ok(*args, "-o", "json", env=env))


def test_folder_and_file_workflow(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    assert "is created on local" in ok("vfolder", "create", "work", "--cloneable", env=env)
    folders = js("vfolder", "list", env=env)["folders"]  # type: ignore[index]
    assert "work" in [f["name"] for f in folders]
    tree = tmp_path / "proj"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "main.py").write_text("print('hi')\n")
    (tree / "README").write_text("readme\n")
    (tree / "empty").mkdir()
    ok("vfolder", "upload", "-r", "work", "proj", "-d", "code", env=env, cwd=tmp_path)
    names = {f["name"]: f for f in js("vfolder", "ls", "work", "code/proj", env=env)["files"]}  # type: ignore[index]
    assert set(names) == {"src", "README", "empty"}
    assert names["src"]["type"] == "DIRECTORY" and names["README"]["size"] == 7
    ok("vfolder", "mkdir", "-p", "work", "a/b/c", env=env)
    ok("vfolder", "mv", "work", "code/proj/README", "a/b", env=env)
    ok("vfolder", "rename-file", "work", "a/b/README", "README.md", env=env)
    assert "README.md" in ok("vfolder", "ls", "work", "a/b", env=env)

    # Destructive commands ask a terminal; without one only -y confirms (a piped "y" does
    # not): nothing changes and the command exits 1 (tests/cli/test_confirm.py has more).
    res = run_bai("vfolder", "rm", "work", "a", env=env, input="y\n")
    assert res.returncode == 1 and "Cancelled" in res.stderr and "pass -y" in res.stderr
    res = run_bai("vfolder", "rm", "-y", "work", "a", env=env)
    assert res.returncode == 65 and "not empty" in res.stderr
    ok("vfolder", "rm", "-y", "-r", "work", "a", env=env)
    assert "a" not in [f["name"] for f in js("vfolder", "ls", "work", env=env)["files"]]  # type: ignore[index]

    url = ok("vfolder", "request-download", "work", "code/proj/src/main.py", env=env).strip()
    assert httpx.get(url).text == "print('hi')\n"

    info = js("vfolder", "info", "work", env=env)
    assert info["num_files"] == 1 and info["cur_size"] == len("print('hi')\n")  # type: ignore[index]

    ok("vfolder", "clone", "work", "work-copy", env=env)
    assert "main.py" in ok("vfolder", "ls", "work-copy", "code/proj/src", env=env)
    ok("vfolder", "rename", "work-copy", "copy2", env=env)
    ok("vfolder", "update-options", "copy2", "--set-cloneable", "true", env=env)

    ok("vfolder", "delete", "-y", "copy2", env=env)
    res = run_bai("vfolder", "ls", "copy2", env=env)
    assert res.returncode == 77 and "delete-pending" in res.stderr
    ok("vfolder", "restore", "copy2", env=env)
    ok("vfolder", "delete", "-y", "copy2", env=env)
    ok("vfolder", "delete-trash", "-y", "copy2", env=env)
    ok("vfolder", "create", "copy2", env=env)  # the name is free at once
    deleted = [
        f
        for f in js("vfolder", "list", "--all", env=env)["folders"]  # type: ignore[index]
        if f["name"] == "copy2" and f["status"] != "ready"
    ]
    assert len(deleted) == 1
    for _ in range(100):
        if js("vfolder", "info", deleted[0]["id"], env=env)["status"] == "delete-complete":  # type: ignore[index]
            break
        time.sleep(0.1)
    ok("vfolder", "purge", "-y", deleted[0]["id"], env=env)


def test_cli_errors(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    ok("vfolder", "create", "errs", env=env)
    res = run_bai("vfolder", "ls", "errs", "../../etc", env=env)
    assert res.returncode == 65 and "climbs out" in res.stderr
    res = run_bai("vfolder", "ls", "nosuch", env=env)
    assert res.returncode == 66 and "no folder 'nosuch'" in res.stderr
    res = run_bai("vfolder", "create", "errs", env=env)
    assert res.returncode == 73 and "already exists" in res.stderr
    (tmp_path / "d").mkdir()
    res = run_bai("vfolder", "upload", "errs", "d", env=env, cwd=tmp_path)
    assert res.returncode == 65 and "pass -r" in res.stderr
    res = run_bai("vfolder", "upload", "errs", "missing.txt", env=env, cwd=tmp_path)
    assert res.returncode == 65 and "no such file" in res.stderr
    res = run_bai("vfolder", "download", "errs", "nothing.bin", "-b", str(tmp_path), env=env)
    assert res.returncode == 66
    assert not (tmp_path / "nothing.bin").exists()
    for out in (res.stdout, res.stderr):
        assert "Traceback" not in out
