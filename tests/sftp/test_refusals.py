"""Every refusal of the SFTP service, seen by the real OpenSSH client: the client reports an
error (with the node's reason on stderr where OpenSSH's status text cannot say it) and the
volume is exactly as it was — not even a staged half file stays behind."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from bai import api
from tests.harness import random_file, run_bai
from tests.sftp.conftest import SftpWorld, User, snapshot
from tests.sftp.openssh import new_key, scp, sftp, ssh

pytestmark = pytest.mark.node


def folder_dir(world: SftpWorld, f: api.FolderInfo) -> Path:
    """Where a vfs folder's data lives (the layout of bai.storage.vfs)."""
    scope, h = f.quota_scope_id.split(":", 1)[1].replace("-", ""), f.id.hex
    return world.volume() / scope / h[0:2] / h[2:4] / h[4:]


class Unchanged:
    """Asserts, on leaving, that the volume holds what it held on entering."""

    def __init__(self, world: SftpWorld) -> None:
        self.volume = world.volume()

    def __enter__(self) -> Unchanged:
        self.before = snapshot(self.volume)
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return
        deadline = time.monotonic() + 10
        while (after := snapshot(self.volume)) != self.before and time.monotonic() < deadline:
            time.sleep(0.1)  # a connection's handles are released as it closes
        assert after == self.before, {
            k: (self.before.get(k), after.get(k))
            for k in set(after) | set(self.before)
            if after.get(k) != self.before.get(k)
        }


def failed(res: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert res.returncode != 0, res.stdout + res.stderr
    for needle in needles:
        assert needle in res.stderr, f"{needle!r} not in:\n{res.stderr}"
    assert "Traceback" not in res.stderr


def member_of_read_only_project(world: SftpWorld) -> tuple[User, User]:
    admin, member = world.admin, world.user()

    async def setup(c: object) -> None:
        from bai.client import BaiClient

        assert isinstance(c, BaiClient)
        await c.admin.projects.create("sftp-ro")
        await c.admin.projects.add_members("sftp-ro", [member.email])
        await c.folders.create("team-ro", group="sftp-ro", permission="ro")

    admin.call(setup)
    admin.start("team-ro")
    (admin.home / "kept.txt").write_text("kept\n")
    res = sftp(world.target(admin), "put kept.txt /team-ro/kept.txt", cwd=admin.home)
    assert res.returncode == 0, res.stderr
    admin.stop_all()
    member.start("team-ro")
    return admin, member


def test_read_only_folder_refuses_every_write(world: SftpWorld, tmp_path: Path) -> None:
    _, member = member_of_read_only_project(world)
    t = world.target(member)
    (tmp_path / "new.txt").write_text("new\n")
    res = sftp(t, "get /team-ro/kept.txt got.txt", cwd=tmp_path)
    assert res.returncode == 0 and (tmp_path / "got.txt").read_text() == "kept\n"
    for command in (
        "put new.txt /team-ro/new.txt",
        "put new.txt /team-ro/kept.txt",
        "mkdir /team-ro/dir",
        "rm /team-ro/kept.txt",
        "rename /team-ro/kept.txt /team-ro/moved.txt",
        "chmod 600 /team-ro/kept.txt",
    ):
        with Unchanged(world):
            res = sftp(t, command, cwd=tmp_path)
            failed(res, "Permission denied", "bai: your permission on folder 'team-ro' is 'ro'")


def test_over_quota_write_fails_with_quota_exceeded(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("tight")
    assert world.admin.call(lambda c: c.quota.set("local", user.email, "1m")).limit_bytes
    user.start("tight")
    t = world.target(user)
    random_file(tmp_path / "big.bin", 3 << 20)
    with Unchanged(world):
        res = sftp(t, "put big.bin /tight/big.bin", cwd=tmp_path)
        failed(res, "bai: quota exceeded: the quota of " + user.email)
    info = user.call(lambda c: c.folders.info("tight"))
    assert (info.num_files, info.cur_size) == (0, 0)
    random_file(tmp_path / "small.bin", 300 << 10)
    res = sftp(t, "put small.bin /tight/small.bin", cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_paths_never_leave_the_folders(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    folder = user.folder("esc")
    user.start("esc")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    # What a compute session could plant: links out of the folder, absolute and relative.
    (folder_dir(world, folder) / "out").symlink_to(outside)
    (folder_dir(world, folder) / "up").symlink_to("../../../..")
    t = world.target(user)
    (tmp_path / "a.txt").write_text("a\n")
    cases = [
        ("get /esc/../../../etc/hostname x", "not found"),
        ("get ../../../../etc/hostname x", "not found"),
        ("get /etc/hostname x", "not found"),
        ("get /bai.db x", "not found"),
        # sftp's `get` globs first, and says "not found" whatever the glob met: the node's
        # line on stderr says why.
        ("get /esc/out/secret.txt x", "leads out of the folder"),
        ("get /esc/up/bai.db x", "leads out of the folder"),
        ("put a.txt /esc/out/a.txt", "Permission denied"),
        ("put a.txt /esc/up/a.txt", "Permission denied"),
        ("put a.txt /../a.txt", "Permission denied"),
        ("mkdir /esc/out/d", "Permission denied"),
    ]
    for command, message in cases:
        with Unchanged(world):
            failed(sftp(t, command, cwd=tmp_path), message)
        assert not (tmp_path / "x").exists()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    # Listing the link shows the link, never what it points at.
    res = sftp(t, "ls -l /esc/out", cwd=tmp_path)
    assert "secret.txt" not in res.stdout and "pointing out of the folder" in res.stderr
    # `..` stops at the root, which shows the session's folders and nothing else.
    res = sftp(t, "cd /../..", "pwd", "ls -1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Remote working directory: /" in res.stdout
    assert [
        line for line in res.stdout.splitlines() if not line.startswith(("sftp>", "Remote"))
    ] == ["esc"]


def test_the_root_is_read_only(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("rootro")
    user.start("rootro")
    t = world.target(user)
    (tmp_path / "a.txt").write_text("a\n")
    for command in (
        "put a.txt /a.txt",
        "mkdir /newdir",
        "rmdir /rootro",
        "rename /rootro /renamed",
    ):
        with Unchanged(world):
            failed(
                sftp(t, command, cwd=tmp_path), "Permission denied", "the SFTP root is read-only"
            )


def test_a_key_without_a_live_session_cannot_log_in(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("keyed")
    user.start("keyed")
    t = world.target(user)
    stranger = new_key(tmp_path / "stranger")
    with Unchanged(world):
        failed(sftp(t.with_key(stranger), "ls /", cwd=tmp_path), "Permission denied (publickey)")
    res = run_bai("vfolder", "sftp", "--stop", "keyed", env=user.env)
    assert res.returncode == 0 and "Stopped SFTP session" in res.stdout, res.stderr
    (tmp_path / "a.txt").write_text("a\n")
    with Unchanged(world):
        res = sftp(t, "put a.txt /keyed/a.txt", cwd=tmp_path)
        failed(res, "Permission denied (publickey)", "bai: this key has no live SFTP session")
    time.sleep(3.2)  # let these failures leave the throttle's window


def test_a_stopped_session_ends_its_connections(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("cut")
    started = user.start("cut")
    t = world.target(user)
    proc = subprocess.Popen(
        ["sftp", *t.options(), "-P", str(t.port), t.login],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write("ls /\n")
        proc.stdin.flush()
        time.sleep(1.0)
        user.call(lambda c: c.sftp.stop(started.session.id))
        proc.stdin.write("ls /cut\n")
        proc.stdin.flush()
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert "bai: your SFTP session has ended" in err, err
    assert proc.returncode != 0


def test_idle_sessions_end(tmp_path: Path) -> None:
    from tests.harness import NodeProcess
    from tests.sftp.conftest import SftpWorld as World

    cfg = tmp_path / "node.toml"
    cfg.write_text("[sftp]\nidle_timeout = 1.5\n")
    node = NodeProcess(tmp_path / "data", args=["--config", str(cfg)]).start()
    try:
        world = World(node, tmp_path)
        user = world.user()
        user.folder("idle")
        started = user.start("idle")
        assert started.session.idle_timeout == 1.5
        t = world.target(user)
        assert sftp(t, "ls /idle", cwd=tmp_path).returncode == 0
        time.sleep(2.5)
        assert user.call(lambda c: c.sftp.list()).sessions == []
        with Unchanged(world):
            res = sftp(t, "ls /idle", cwd=tmp_path)
            failed(res, "Permission denied (publickey)", "no live SFTP session")
    finally:
        node.stop()


def test_failed_logins_are_throttled_per_address(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("banned")
    user.start("banned")
    t = world.target(user)
    stranger = t.with_key(new_key(tmp_path / "stranger"))
    for _ in range(4):  # the test node's [sftp] throttle_failures
        failed(sftp(stranger, "ls /", cwd=tmp_path), "Permission denied (publickey)")
    # Even the right key is turned away while the address is banned.
    with Unchanged(world):
        failed(sftp(t, "ls /", cwd=tmp_path), "too many failed logins from 127.0.0.1")
    time.sleep(3.2)  # the throttle window
    res = sftp(t, "ls /", cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_no_shell_exec_or_forwarding(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("noexec")
    user.start("noexec")
    t = world.target(user)
    with Unchanged(world):
        res = ssh(t, t.login, "rsync", "--server", "-vlogDtpre.iLsfxC", ".", "/noexec/")
        assert res.returncode == 1
        assert "rsync needs a remote shell" in res.stderr and "sftp or scp" in res.stderr
        res = ssh(t, "-T", t.login)
        assert res.returncode == 1 and "offers no shell" in res.stderr
        res = ssh(t, t.login, "cat", "/etc/passwd")
        assert res.returncode == 1 and "runs no commands" in res.stderr
        (tmp_path / "a.txt").write_text("a\n")
        res = scp(t, "-O", "a.txt", f"{t.login}:/noexec/a.txt", cwd=tmp_path)
        assert res.returncode != 0 and "legacy scp" in res.stderr
        res = ssh(t, "-W", "127.0.0.1:22", t.login)
        assert res.returncode != 0 and "open failed" in res.stderr


def test_concurrent_sessions_are_limited_by_the_policy(world: SftpWorld) -> None:
    user = world.user()
    user.folder("one")
    user.folder("two")
    assert run_bai("vfolder", "sftp", "one", env=user.env).returncode == 0
    res = run_bai("vfolder", "sftp", "two", env=user.env)
    assert res.returncode == 75, res.stdout + res.stderr
    assert "max_concurrent_sftp_sessions" in res.stderr
    # Asking again for what a live session holds reuses it, whatever the limit.
    res = run_bai("vfolder", "sftp", "one", env=user.env)
    assert res.returncode == 0 and "(reused)" in res.stdout
    assert run_bai("vfolder", "sftp", "--stop", env=user.env).returncode == 0
    res = run_bai("vfolder", "sftp", "one", "two", env=user.env)
    assert res.returncode == 0 and "(new)" in res.stdout, res.stderr


def test_a_folder_in_the_trash_is_refused(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("trashy")
    user.start("trashy")
    t = world.target(user)
    (tmp_path / "a.txt").write_text("a\n")
    assert sftp(t, "put a.txt /trashy/a.txt", cwd=tmp_path).returncode == 0
    user.call(lambda c: c.folders.delete("trashy"))
    for command, client_says in (
        ("get /trashy/a.txt b.txt", "not found"),
        ("put a.txt /trashy/b.txt", "Permission denied"),
        ("ls /trashy", "not found"),
    ):
        with Unchanged(world):
            res = sftp(t, command, cwd=tmp_path)
            failed(res, client_says, "bai: folder 'trashy' is delete-pending")
    assert not (tmp_path / "b.txt").exists()


def test_an_upload_cut_off_leaves_the_old_file(world: SftpWorld, tmp_path: Path) -> None:
    user = world.user()
    user.folder("cutoff")
    user.start("cutoff")
    t = world.target(user)
    (tmp_path / "v1.bin").write_bytes(b"version one\n")
    assert sftp(t, "put v1.bin /cutoff/data.bin", cwd=tmp_path).returncode == 0
    random_file(tmp_path / "v2.bin", 256 << 20)
    staging = world.volume() / ".bai-staging"
    with Unchanged(world):
        proc = subprocess.Popen(
            ["sftp", *t.options(), "-P", str(t.port), "-b", "-", t.login],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        assert proc.stdin is not None
        proc.stdin.write(b"put v2.bin /cutoff/data.bin\n")
        proc.stdin.close()
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size > (1 << 20) for p in staging.iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None, "no upload started"
            time.sleep(0.02)
        proc.kill()  # the connection drops mid-transfer: no CLOSE ever comes
        proc.wait()
    res = sftp(t, "get /cutoff/data.bin back.bin", cwd=tmp_path)
    assert res.returncode == 0 and (tmp_path / "back.bin").read_bytes() == b"version one\n"
