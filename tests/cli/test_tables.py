"""What `bai` prints for people: tables that keep names whole at 80 columns, human sizes in
`ls`, and the folder's own permission after `update-options`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import js, new_user, ok
from tests.harness import NodeProcess

pytestmark = pytest.mark.node

LONG_NAME = "experiment-results-2024-q3-final"
LONG_EMAIL = "someone.with.a.rather.long.name@example.com"


def narrow(env: dict[str, str]) -> dict[str, str]:
    return {**env, "COLUMNS": "80"}


def test_names_and_emails_stay_whole_at_80_columns(live_node: NodeProcess) -> None:
    user = new_user(live_node, LONG_EMAIL)
    ok("vfolder", "create", LONG_NAME, "--cloneable", env=user)
    out = ok("vfolder", "list", env=narrow(user))
    assert LONG_NAME in out and LONG_EMAIL in out
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    # JSON keeps every field, whatever the width.
    (folder,) = js("vfolder", "list", "--name", LONG_NAME, env=narrow(user))["folders"]
    assert folder["id"] and folder["cloneable"] is True

    admin = live_node.client_env()
    out = ok("admin", "user", "list", env=narrow(admin))
    assert LONG_EMAIL in out and "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    out = ok("admin", "keypair", "list", "--user", LONG_EMAIL, env=narrow(admin))
    assert LONG_EMAIL in out and "…" not in out
    # A wide terminal shows more columns (the folder's id among them).
    out = ok("vfolder", "list", env={**user, "COLUMNS": "200"})
    assert folder["id"] in out


def test_ls_shows_human_sizes_and_json_bytes(live_node: NodeProcess, tmp_path: Path) -> None:
    env = live_node.client_env()
    ok("vfolder", "create", "sizes", env=env)
    (tmp_path / "two-mib.bin").write_bytes(b"\0" * (2 << 20))
    (tmp_path / "small.txt").write_text("12345")
    ok("vfolder", "upload", "sizes", "two-mib.bin", "small.txt", env=env, cwd=tmp_path)
    out = ok("vfolder", "ls", "sizes", env=narrow(env))
    assert "2.0 MiB" in out and "5 B" in out and "2097152" not in out
    files = {f["name"]: f for f in js("vfolder", "ls", "sizes", env=env)["files"]}
    assert files["two-mib.bin"]["size"] == 2 << 20 and files["small.txt"]["size"] == 5


def test_update_options_shows_the_folders_permission(live_node: NodeProcess) -> None:
    env = live_node.client_env()
    ok("admin", "project", "create", "perm-proj", env=env)
    ok("vfolder", "create", "team-data", "-g", "perm-proj", "-p", "rw", env=env)
    res = js("vfolder", "update-options", "team-data", "-p", "ro", env=env)
    assert res["permission"] == "ro"
    out = ok("vfolder", "update-options", "team-data", "-p", "wd", env=env)
    (line,) = [x for x in out.splitlines() if "permission" in x]
    assert line.split()[-1] == "wd"
    info = js("vfolder", "info", "team-data", env=env)
    assert info["folder_permission"] == "wd"
