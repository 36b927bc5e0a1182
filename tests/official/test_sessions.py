"""The seed's session line with the official `backend.ai` client against a live node:
`run --rm -m mydata1 IMAGE -c CODE` between an upload and a download, `session
create|list|info|destroy`, and `dotfile create|list|get|update|delete`."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import IMAGE, SessionNode, require_bwrap, start_session_node
from tests.harness import backend_ai

pytestmark = pytest.mark.official


@pytest.fixture(scope="module")
def node() -> Iterator[SessionNode]:
    require_bwrap()
    base = Path(tempfile.mkdtemp(prefix="bai-official-sessions-", dir="/var/tmp"))
    try:
        n = start_session_node(base / "bai-data")
        yield n
        n.node.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def ok(res: object) -> str:
    out = res.stdout + res.stderr  # type: ignore[attr-defined]
    assert res.returncode == 0, out  # type: ignore[attr-defined]
    assert "Traceback" not in out and "✘" not in out, out
    return out


def test_seed_run_with_the_official_client(
    official_cli: Path, node: SessionNode, tmp_path: Path
) -> None:
    ba = lambda *a, **kw: backend_ai(official_cli, node.env, tmp_path, *a, **kw)  # noqa: E731
    ok(ba("vfolder", "create", "mydata1", "local"))
    (tmp_path / "bigdata.csv").write_text("id,value\n1,2\n3,4\n")
    ok(ba("vfolder", "upload", "mydata1", "./bigdata.csv"))
    code = (
        "rows = open('/home/work/mydata1/bigdata.csv').read().splitlines()\n"
        "open('/home/work/mydata1/bigresult.txt', 'w').write(str(len(rows)))\n"
        "print('rows:', len(rows))"
    )
    out = ok(ba("run", "--rm", "-m", "mydata1", IMAGE, "-c", code))
    assert "rows: 3" in out and "exit code = 0" in out
    (tmp_path / "bigresult.txt").unlink(missing_ok=True)
    ok(ba("vfolder", "download", "mydata1", "./bigresult.txt"))
    assert (tmp_path / "bigresult.txt").read_text() == "3"
    # An absolute mount path ("/"-prefixed), through the client's mount_map.
    out = ok(
        ba(
            "run",
            "--rm",
            "-m",
            "mydata1=/data",
            IMAGE,
            "-c",
            "import os; print(os.listdir('/data'))",
        )
    )
    assert "bigresult.txt" in out
    # A failing snippet reports its exit code, and its error output reaches the user.
    res = ba("run", "--rm", IMAGE, "-c", "import sys; sys.exit('boom')")
    assert "boom" in res.stdout + res.stderr and "exit code = 1" in res.stdout + res.stderr
    assert list((node.data_dir / "sessions").iterdir()) == []


def test_session_lifecycle(official_cli: Path, node: SessionNode, tmp_path: Path) -> None:
    ba = lambda *a, **kw: backend_ai(official_cli, node.env, tmp_path, *a, **kw)  # noqa: E731
    ok(ba("vfolder", "create", "held", "local"))
    out = ok(ba("session", "create", "-t", "offsess", "-m", "held", IMAGE))
    sid = re.search(r"Session ID (\S+) is created", out)
    assert sid, out
    listing = ok(ba("session", "list"))
    assert "offsess" in listing and "RUNNING" in listing
    info = ok(ba("session", "info", sid.group(1)))
    assert "offsess" in info and "RUNNING" in info
    res = ba("vfolder", "delete", "held")
    assert "offsess" in res.stdout + res.stderr
    ok(ba("session", "destroy", "offsess"))
    # No live session left: the 23.9.10 client itself fails an empty list with `NoItems`.
    res = ba("session", "list")
    assert "offsess" not in res.stdout
    assert "TERMINATED" in ok(ba("session", "list", "--all"))
    ok(ba("vfolder", "delete", "held"))


def test_dotfiles(official_cli: Path, node: SessionNode, tmp_path: Path) -> None:
    ba = lambda *a, **kw: backend_ai(official_cli, node.env, tmp_path, *a, **kw)  # noqa: E731
    aws = tmp_path / ".aws"
    aws.mkdir()
    (aws / "config").write_text("[default]\nregion = ap-northeast-2\n")
    # The seed's line: `backend.ai dotfile create .aws/config < ~/.aws/config`.
    out = ok(ba("dotfile", "create", ".aws/config", input=(aws / "config").read_text()))
    assert "created" in out
    assert ".aws/config" in ok(ba("dotfile", "list"))
    assert "region = ap-northeast-2" in ok(ba("dotfile", "get", ".aws/config"))
    ok(ba("dotfile", "update", ".aws/config", "--perm", "600", input="[default]\n"))
    listing = ok(ba("dotfile", "list"))
    assert "600" in listing
    out = ok(
        ba(
            "run",
            "--rm",
            IMAGE,
            "-c",
            "import os; print(oct(os.stat('/home/work/.aws/config').st_mode & 0o777))",
        )
    )
    assert "0o600" in out
    res = ba("dotfile", "create", ".ssh/authorized_keys", input="key\n")
    assert "reserved" in res.stdout + res.stderr
    ok(ba("dotfile", "delete", "-f", ".aws/config"))
    assert "There is no dotfiles created yet." in ok(ba("dotfile", "list"))
