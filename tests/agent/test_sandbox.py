"""Sessions in real bubblewrap sandboxes, driven with `bai` against a live node: the seed's
flow, what a session can and cannot reach, dotfiles, automount, status, teardown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.agent.conftest import IMAGE, SessionNode

pytestmark = pytest.mark.node


def run(n: SessionNode, *args: str) -> tuple[int, str, str]:
    res = n.bai("run", "--rm", "--image", IMAGE, *args)
    return res.returncode, res.stdout, res.stderr


def no_session_left(n: SessionNode) -> None:
    scratch = n.data_dir / "sessions"
    assert not scratch.exists() or list(scratch.iterdir()) == []
    assert str(scratch) not in Path("/proc/mounts").read_text()


def test_seed_flow_upload_run_download(sessions_node: SessionNode, tmp_path: Path) -> None:
    n = sessions_node
    n.ok("vfolder", "create", "mydata1")
    (tmp_path / "bigdata.csv").write_text("id,value\n1,2\n3,4\n")
    n.ok("vfolder", "upload", "mydata1", "bigdata.csv", cwd=tmp_path)
    code, out, err = run(
        n, "-m", "mydata1", "--", "sh", "-c",
        "wc -l < mydata1/bigdata.csv > mydata1/bigresult.txt; echo done; exit 3",
    )  # fmt: skip
    assert code == 3, err
    assert out == "done\n"
    dl = tmp_path / "dl"
    dl.mkdir()
    n.ok("vfolder", "download", "mydata1", "bigresult.txt", cwd=dl)
    assert (dl / "bigresult.txt").read_text() == "3\n"
    no_session_left(n)


def test_read_only_mount_and_image_root_refuse_writes(sessions_node: SessionNode) -> None:
    n = sessions_node
    n.ok("vfolder", "create", "rofold")
    spec = "type=bind,source=rofold,target=/data,perm=ro"
    code, _, err = run(n, "-m", spec, "--", "sh", "-c", "ls /data && touch /data/x")
    assert code != 0 and "Read-only file system" in err
    code, _, err = run(n, "--", "sh", "-c", "touch /usr/bai-escape")
    assert code != 0 and "Read-only file system" in err
    assert not Path("/usr/bai-escape").exists()
    # Even remounting read-write from inside is refused (no capabilities, no new userns).
    code, _, err = run(n, "-m", spec, "--", "sh", "-c", "mount -o remount,rw /data")
    assert code != 0
    assert "x" not in n.ok("vfolder", "ls", "rofold")


def test_session_sees_nothing_of_the_node(sessions_node: SessionNode) -> None:
    n = sessions_node
    n.ok("vfolder", "create", "secretfold")
    n.ok("vfolder", "mkdir", "secretfold", "inner")
    n.ok("vfolder", "create", "visible")
    volume = n.data_dir / "volumes" / "local"
    assert volume.is_dir() and (n.data_dir / "bai.db").exists()
    n.ok("vfolder", "upload", "secretfold", "client.env", cwd=n.data_dir)
    probes = {  # what a probe prints if it reaches what it must not
        "cat /home/work/secretfold/client.env": "BACKEND_SECRET_KEY",
        f"ls {n.data_dir}": "bai.db",
        f"cat {n.data_dir}/client.env": "BACKEND_SECRET_KEY",
        f"find {volume} {n.data_dir}": "inner",
        "ls -a /root": ".bashrc",
        "cat /etc/shadow": "root:",
    }
    for probe, leaked in probes.items():
        code, out, _ = run(n, "-m", "visible", "--", "sh", "-c", probe)
        assert leaked not in out, probe
        assert code != 0 or out.strip() == "", probe
    # Only the mounted folder is there.
    code, out, _ = run(n, "-m", "visible", "--", "ls", "-A", "/home/work")
    assert code == 0 and "visible" in out.split() and "secretfold" not in out
    # No network by default: only the loopback device exists.
    code, out, _ = run(n, "--", "cat", "/proc/net/dev")
    assert code == 0 and "lo:" in out and "eth" not in out


def test_dotfiles_are_written_with_their_permission(sessions_node: SessionNode) -> None:
    n = sessions_node
    n.ok("dotfile", "create", ".aws/config", "--perm", "600", input="[default]\nregion = x\n")
    n.ok("dotfile", "create", ".bashrc", "--perm", "644", input="export A=1\n")
    try:
        assert ".aws/config" in n.ok("dotfile", "list")
        assert n.ok("dotfile", "get", ".aws/config") == "[default]\nregion = x\n"
        code, out, err = run(
            n, "--", "sh", "-c",
            "stat -c '%a %n' .aws .aws/config .bashrc; cat .aws/config",
        )  # fmt: skip
        assert code == 0, err
        assert out == "700 .aws\n600 .aws/config\n644 .bashrc\n[default]\nregion = x\n"
        res = n.bai("dotfile", "create", ".ssh/authorized_keys", input="k")
        assert res.returncode != 0 and "reserved" in res.stderr
        # A dotfile where a folder is mounted fails the session clearly.
        n.ok("vfolder", "create", "clash")
        code, _, err = run(n, "-m", "clash:.aws", "--", "true")
        assert code != 0 and "collides" in err
    finally:
        n.bai("dotfile", "delete", ".aws/config")
        n.bai("dotfile", "delete", ".bashrc")


def test_automount_dot_folders(sessions_node: SessionNode) -> None:
    n = sessions_node
    n.ok("vfolder", "create", ".tools")
    code, out, err = run(
        n, "--", "sh", "-c", "echo kept > .tools/note; echo $BACKENDAI_PERSISTENT_PATHS"
    )
    assert code == 0, err
    assert "/home/work/.tools" in out
    assert "note" in n.ok("vfolder", "ls", ".tools")


def test_mounted_status_refuses_trash_and_teardown(sessions_node: SessionNode) -> None:
    n = sessions_node
    n.ok("vfolder", "create", "busy")
    n.ok("session", "create", "--image", IMAGE, "--name", "holder", "-m", "busy")
    try:
        info = json.loads(n.ok("vfolder", "info", "busy", "-o", "json"))
        assert info["status"] == "mounted"
        res = n.bai("vfolder", "delete", "busy", "-y")
        assert res.returncode != 0 and "holder" in res.stderr, res.stderr
        session = json.loads(n.ok("session", "info", "holder", "-o", "json"))
        assert session["status"] == "RUNNING"
        assert {"name": "busy", "target": "/home/work/busy", "perm": "rw"} in session["mounts"]
        assert any(
            s["sessionName"] == "holder"
            for s in json.loads(n.ok("session", "list", "-o", "json"))["sessions"]
        )
    finally:
        n.ok("session", "destroy", "holder")
    info = json.loads(n.ok("vfolder", "info", "busy", "-o", "json"))
    assert info["status"] == "ready"
    no_session_left(n)
    n.ok("vfolder", "delete", "busy", "-y")


def test_refusals_before_anything_starts(sessions_node: SessionNode) -> None:
    n = sessions_node
    n.ok("vfolder", "create", "r1")
    n.ok("vfolder", "create", "r2")
    cases = [
        (["--image", "nope", "--", "true"], "known images: python:3.11, tiny"),
        (["-m", "ghost", "--", "true"], "no folder 'ghost'"),
        (["-m", "r1:x", "-m", "r2:x", "--", "true"], "overlap"),
        (["-m", "r1=/usr/lib/x", "--", "true"], "system path"),
        (["-m", "r1=/work", "--", "true"], "inside the image"),
        (["-r", "gpu=1", "--", "true"], "unknown resource"),
    ]
    for args, words in cases:
        res = n.bai("run", "--rm", *(args if args[0] == "--image" else ["--image", IMAGE, *args]))
        assert res.returncode != 0, args
        assert res.stderr.startswith("error:") and words in res.stderr, (args, res.stderr)
    no_session_left(n)


def test_limits_are_enforced(sessions_node: SessionNode) -> None:
    n = sessions_node
    # The image "tiny" allows 16 processes and 64 MiB.
    res = n.bai("run", "--rm", "--image", "tiny", "--", "sh", "-c",
                "for i in $(seq 40); do sleep 1 & done; wait")  # fmt: skip
    assert res.returncode != 0 and "fork" in (res.stdout + res.stderr).lower()
    res = n.bai("run", "--rm", "--image", "tiny", "--", "python3", "-c",
                "x = bytearray(256 << 20); print('LEAK')")  # fmt: skip
    assert res.returncode != 0 and "LEAK" not in res.stdout
    res = n.bai("run", "--rm", "--image", IMAGE, "-r", "mem=512m", "--", "python3", "-c",
                "x = bytearray(16 << 20); print(len(x))")  # fmt: skip
    assert res.returncode == 0 and res.stdout == f"{16 << 20}\n", res.stderr


def test_pipeline_folder(sessions_node: SessionNode) -> None:
    n = sessions_node
    code, _, err = run(n, "--pipeline", "pipe1", "--", "sh", "-c", "echo step > /pipeline/out")
    assert code == 0, err
    info = json.loads(n.ok("vfolder", "info", "pipe1", "-o", "json"))
    assert info["usage_mode"] == "data"
    code, out, err = run(n, "--pipeline", "pipe1", "--", "cat", "/pipeline/out")
    assert (code, out) == (0, "step\n"), err


def test_session_logs_and_environment(sessions_node: SessionNode) -> None:
    n = sessions_node
    res = n.bai("run", "--image", IMAGE, "--name", "keeper", "-e", "GREETING=hi", "--",
                "sh", "-c", "echo $GREETING $HOME $BACKENDAI_SESSION_NAME")  # fmt: skip
    assert res.returncode == 0 and res.stdout == "hi /home/work keeper\n", res.stderr
    assert "still live" in res.stderr
    try:
        assert n.ok("session", "logs", "keeper") == "hi /home/work keeper\n"
    finally:
        n.ok("session", "destroy", "keeper")
    res = n.bai("session", "logs", "nobody-here")
    assert res.returncode != 0 and "no session" in res.stderr
