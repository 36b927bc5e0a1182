"""What a hostile session tried in review: a setuid file planted in a folder, a data
directory reached through a symlink, output without end. None of it may reach the host."""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.agent.conftest import IMAGE, require_bwrap, start_session_node

pytestmark = pytest.mark.node


def test_planted_setuid_files_and_a_symlinked_data_dir_give_nothing(tmp_path: Path) -> None:
    require_bwrap()
    # The data directory is reached through a symlink under /tmp (which sessions do not
    # see) but really lies under /var (which they do, with the image root "/").
    real = Path(tempfile.mkdtemp(prefix="bai-real-", dir="/var/tmp"))
    link = tmp_path / "link"
    link.symlink_to(real)
    n = start_session_node(link / "data")
    try:
        n.ok("vfolder", "create", "f1")
        res = n.bai(
            "run", "--rm", "--image", IMAGE, "-m", "f1", "--", "sh", "-c",
            f"cp /bin/sh f1/rootsh && chmod 4755 f1/rootsh; "
            f"cat {real}/data/bai.db >/dev/null 2>&1 && echo LEAKED-DB; "
            f"ls {real}/data/volumes >/dev/null 2>&1 && echo LEAKED-VOLUMES; "
            f"cat {real}/data/node.toml >/dev/null 2>&1 && echo LEAKED-TOML; echo end",
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert "LEAKED" not in res.stdout and res.stdout.strip().endswith("end")
        # On the host the planted file is out of every other user's reach.
        assert stat.S_IMODE((real / "data").stat().st_mode) == 0o700
        volume = real / "data" / "volumes" / "local"
        assert stat.S_IMODE(volume.stat().st_mode) == 0o700
        planted = [p for p in volume.rglob("rootsh")]
        assert planted, "the session's write did not land in the folder"
        if os.getuid() == 0:  # another local user (nobody) cannot even reach the folder
            res = subprocess.run(["stat", str(planted[0])], user=65534, capture_output=True)
            assert res.returncode != 0 and b"Permission denied" in res.stderr
    finally:
        n.node.stop()
        import shutil

        shutil.rmtree(real, ignore_errors=True)
