"""Destructive commands: without a terminal only `-y` confirms (a piped "y" changes nothing);
on a terminal they ask, and "y" goes ahead."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.helpers import js, ok
from tests.harness import NodeProcess, run_bai

pytestmark = pytest.mark.node


def names(env: dict[str, str], folder: str) -> set[str]:
    return {f["name"] for f in js("vfolder", "ls", folder, env=env)["files"]}


def status(env: dict[str, str], folder: str) -> str:
    return str(js("vfolder", "info", folder, env=env)["status"])


def on_terminal(args: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run `bai` with a terminal on stdin, answer its question, return (exit code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bai", *args],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, **env},
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            seen += os.read(master, 1024)
    os.write(master, answer.encode() + b"\n")
    out, _ = proc.communicate(timeout=30)
    while select.select([master], [], [], 0.2)[0]:  # what it wrote to the terminal after
        try:
            chunk = os.read(master, 1024)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return proc.returncode, seen.decode(errors="replace") + out.decode()


def test_piped_yes_changes_nothing(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    ok("vfolder", "create", "keepme", env=env)
    ok("vfolder", "mkdir", "keepme", "d", env=env)
    for args in (
        ["vfolder", "rm", "-r", "keepme", "d"],
        ["vfolder", "delete", "keepme"],
    ):
        res = run_bai(*args, env=env, input="y\n")
        assert res.returncode == 1, res.stdout + res.stderr
        assert "nothing was changed" in res.stderr and "-y" in res.stderr
    assert names(env, "keepme") == {"d"} and status(env, "keepme") == "ready"

    ok("vfolder", "delete", "-y", "keepme", env=env)
    for args in (["vfolder", "delete-trash", "keepme"], ["vfolder", "purge", "keepme"]):
        res = run_bai(*args, env=env, input="y\n")
        assert res.returncode == 1 and "pass -y" in res.stderr
    assert status(env, "keepme") == "delete-pending"


def test_a_terminal_is_asked(live_node: NodeProcess) -> None:
    env = live_node.client_env()
    ok("vfolder", "create", "asked", env=env)
    ok("vfolder", "mkdir", "asked", "a", "b", env=env)
    code, out = on_terminal(["vfolder", "rm", "-r", "asked", "a"], env, "n")
    assert code == 1 and "Cancelled" in out
    assert names(env, "asked") == {"a", "b"}
    code, out = on_terminal(["vfolder", "rm", "-r", "asked", "a"], env, "y")
    assert code == 0, out
    assert names(env, "asked") == {"b"}
    code, out = on_terminal(["vfolder", "delete", "asked"], env, "y")
    assert code == 0, out
    assert status(env, "asked") == "delete-pending"
