"""The official client's sharing and listing commands against a live node: invite,
invitations, list-invited, list-own, list-project, leave, share, unshare, admin vfolder list."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.harness import NodeProcess, backend_ai, run_bai

pytestmark = pytest.mark.official


def new_user(admin_env: dict[str, str], email: str) -> dict[str, str]:
    res = run_bai("admin", "user", "create", email, "-o", "json", env=admin_env)
    assert res.returncode == 0, res.stderr
    kp = json.loads(res.stdout)["keypair"]
    return {
        **admin_env,
        "BACKEND_ACCESS_KEY": kp["access_key"],
        "BACKEND_SECRET_KEY": kp["secret_key"],
    }


def listing(cli: Path, env: dict[str, str], cwd: Path, verb: str) -> list[dict[str, Any]]:
    res = backend_ai(cli, env, cwd, "--output", "json", "vfolder", verb)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)["items"]  # type: ignore[no-any-return]


def test_invite_accept_leave(official_cli: Path, live_node: NodeProcess, tmp_path: Path) -> None:
    admin = live_node.client_env()
    tag = uuid.uuid4().hex[:6]
    owner_email, guest_email = f"o-{tag}@share.example.com", f"g-{tag}@share.example.com"
    owner, guest = new_user(admin, owner_email), new_user(admin, guest_email)
    folder = f"shr-{tag}"

    def cli(env: dict[str, str], *args: str, input: str | None = None) -> tuple[int, str]:
        res = backend_ai(official_cli, env, tmp_path, *args, input=input)
        return res.returncode, res.stdout + res.stderr

    assert cli(owner, "vfolder", "create", folder, "local")[0] == 0
    code, out = cli(owner, "vfolder", "invite", folder, guest_email, "-p", "ro")
    assert code == 0 and "Invitation sent to:" in out and guest_email in out, out
    code, out = cli(owner, "vfolder", "invite", folder, guest_email, "-p", "rw")
    assert code == 1 and "already shared" in out, out
    code, out = cli(owner, "vfolder", "invite", folder, f"nobody-{tag}@share.example.com")
    assert code == 1 and "no active user" in out, out

    code, out = cli(guest, "vfolder", "invitations", input="1\na\n")
    assert code == 0 and owner_email in out and "Traceback" not in out, out
    code, out = cli(guest, "vfolder", "invitations")
    assert code == 0 and "No invitations." in out, out

    invited = listing(official_cli, guest, tmp_path, "list-invited")
    assert [(i["name"], i["permission"]) for i in invited] == [(folder, "ro")]
    assert folder not in {i["name"] for i in listing(official_cli, guest, tmp_path, "list-own")}
    assert folder in {i["name"] for i in listing(official_cli, owner, tmp_path, "list-own")}
    assert listing(official_cli, owner, tmp_path, "list-invited") == []

    # Read-only: no write by any route; never the owner's folder.
    code, out = cli(guest, "vfolder", "mkdir", folder, "x")
    assert code == 1 and "'ro'" in out, out
    code, out = cli(guest, "vfolder", "rename", folder, f"{folder}-x")
    assert code == 1 and "only the owner" in out, out
    code, out = cli(guest, "vfolder", "delete", folder)
    assert code == 1 and "only the owner" in out, out
    assert cli(guest, "vfolder", "info", folder)[0] == 0

    # The owner cannot leave their own folder (the client refuses); the guest leaves.
    code, out = cli(owner, "vfolder", "leave", folder)
    assert code == 0 and "you own" in out, out
    code, out = cli(guest, "vfolder", "leave", folder)
    assert code == 0 and "Left the shared virtual folder" in out, out
    assert listing(official_cli, guest, tmp_path, "list-invited") == []
    code, out = cli(guest, "vfolder", "info", folder)
    assert code == 1


def test_project_share_unshare(official_cli: Path, live_node: NodeProcess, tmp_path: Path) -> None:
    admin = live_node.client_env()
    tag = uuid.uuid4().hex[:6]
    member_email = f"m-{tag}@share.example.com"
    member = new_user(admin, member_email)
    project, folder = f"team-{tag}", f"tf-{tag}"
    assert run_bai("admin", "project", "create", project, env=admin).returncode == 0
    res = run_bai("admin", "project", "add-member", project, member_email, env=admin)
    assert res.returncode == 0, res.stderr
    res = run_bai("vfolder", "create", folder, "-g", project, "-p", "ro", env=admin)
    assert res.returncode == 0, res.stderr

    def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
        res = backend_ai(official_cli, env, tmp_path, *args)
        return res.returncode, res.stdout + res.stderr

    items = listing(official_cli, member, tmp_path, "list-project")
    assert [(i["name"], i["permission"]) for i in items] == [(folder, "ro")]
    code, out = cli(admin, "vfolder", "share", folder, member_email, "-p", "wd")
    assert code == 0 and "Shared with wd permission to:" in out and member_email in out, out
    items = listing(official_cli, member, tmp_path, "list-project")
    assert [(i["name"], i["permission"]) for i in items] == [(folder, "wd")]
    assert cli(member, "vfolder", "mkdir", folder, "made")[0] == 0
    code, out = cli(member, "vfolder", "share", folder, member_email, "-p", "wd")
    assert code == 1, out
    code, out = cli(member, "vfolder", "leave", folder)
    assert code == 0 and "You cannot leave a group virtual folder." in out, out

    code, out = cli(admin, "vfolder", "unshare", folder, member_email)
    assert code == 0 and member_email in out, out
    items = listing(official_cli, member, tmp_path, "list-project")
    assert [(i["name"], i["permission"]) for i in items] == [(folder, "ro")]

    # JSON output is one page; every folder of the node is listed, so ask for this one.
    res = backend_ai(
        official_cli,
        admin,
        tmp_path,
        "--output",
        "json",
        "admin",
        "vfolder",
        "list",
        "--filter",
        f'name == "{folder}"',
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert folder in {i["name"] for i in json.loads(res.stdout)["items"]}


def test_bai_cli_sharing_verbs(live_node: NodeProcess) -> None:
    """bai's own CLI verbs for the same flow, with `-o json`."""
    admin = live_node.client_env()
    tag = uuid.uuid4().hex[:6]
    owner_email, guest_email = f"co-{tag}@share.example.com", f"cg-{tag}@share.example.com"
    owner, guest = new_user(admin, owner_email), new_user(admin, guest_email)
    folder = f"cli-{tag}"

    def bai(env: dict[str, str], *args: str) -> Any:
        res = run_bai(*args, "-o", "json", env=env)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    assert run_bai("vfolder", "create", folder, env=owner).returncode == 0
    assert bai(owner, "vfolder", "invite", folder, guest_email, "-p", "wd")["invited"] == [
        {"email": guest_email}
    ]
    (inv,) = bai(guest, "vfolder", "invitations")["invitations"]
    bai(guest, "vfolder", "invitations", "--accept", inv["id"])
    invited = bai(guest, "vfolder", "list-invited")["folders"]
    assert [(f["name"], f["permission"]) for f in invited] == [(folder, "wd")]
    shared = bai(owner, "admin", "vfolder", "list-shared-vfolders")["shared"]
    assert [(s["vfolder_name"], s["email"], s["perm"]) for s in shared] == [
        (folder, guest_email, "wd")
    ]
    bai(owner, "vfolder", "unshare", folder, guest_email)
    assert bai(guest, "vfolder", "list-invited")["folders"] == []
    res = run_bai("vfolder", "leave", folder, env=owner)
    assert res.returncode == 65 and "you own" in res.stderr


def test_admin_vfolder_list_spans_every_folder(
    official_cli: Path, live_node: NodeProcess, tmp_path: Path
) -> None:
    """`admin vfolder list` (root `vfolder_list`) shows an administrator every folder of the
    node, other users' too; a plain user's `vfolder list` still shows only their own."""
    admin = live_node.client_env()
    tag = uuid.uuid4().hex[:6]
    alice, bob = (
        new_user(admin, f"al-{tag}@list.example.com"),
        new_user(admin, f"bo-{tag}@list.example.com"),
    )
    assert run_bai("vfolder", "create", f"alice-{tag}", env=alice).returncode == 0
    assert run_bai("vfolder", "create", f"bob-{tag}", env=bob).returncode == 0
    res = backend_ai(
        official_cli,
        admin,
        tmp_path,
        "--output",
        "json",
        "admin",
        "vfolder",
        "list",
        "--limit",
        "100",
        "--filter",
        f'name like "%-{tag}"',
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert {i["name"] for i in json.loads(res.stdout)["items"]} == {f"alice-{tag}", f"bob-{tag}"}
    mine = listing(official_cli, bob, tmp_path, "list")
    assert f"bob-{tag}" in {i["name"] for i in mine} and f"alice-{tag}" not in {
        i["name"] for i in mine
    }
