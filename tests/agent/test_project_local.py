"""A project's `.local` folder: every member's session gets a subdirectory of its own at
/home/work/.local, without asking for it; members never see each other's."""

from __future__ import annotations

import json

import pytest

from tests.agent.conftest import IMAGE, SessionNode
from tests.cli.helpers import new_user
from tests.harness import run_bai

pytestmark = pytest.mark.node


def test_project_local_is_a_per_member_subdirectory(sessions_node: SessionNode) -> None:
    n = sessions_node
    n.ok("admin", "project", "create", "plocal")
    alice = new_user(n.node, "alice-local@example.com")
    bob = new_user(n.node, "bob-local@example.com")
    n.ok("admin", "project", "add-member", "plocal", "alice-local@example.com",
         "bob-local@example.com")  # fmt: skip
    n.ok("vfolder", "create", ".local", "-g", "plocal", "-p", "rw")

    def run_as(env: dict[str, str], script: str) -> str:
        res = run_bai("run", "--rm", "--image", IMAGE, "--", "sh", "-c", script, env=env)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    run_as(alice, "mkdir -p ~/.local/bin && echo mine > /home/work/.local/bin/tool")
    out = run_as(bob, "ls -A /home/work/.local; echo end")
    assert out == "end\n"  # bob's own, empty: alice's files are not there
    assert run_as(alice, "cat /home/work/.local/bin/tool") == "mine\n"
    alice_id = json.loads(n.ok("admin", "user", "list", "-o", "json"))
    uid = next(u["id"] for u in alice_id["users"] if u["email"] == "alice-local@example.com")
    listing = n.ok("vfolder", "ls", ".local", uid.replace("-", "") + "/bin")
    assert "tool" in listing  # in the project folder, under alice's user id
