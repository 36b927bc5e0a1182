"""A bucket folder inside a compute session: mounted through the reference-counted s3fs
mounts, written by the sandboxed command, the bytes an object in the bucket afterwards."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bai.storage.s3mounts import fuse_mounts
from tests.agent.conftest import IMAGE, NODE_TOML, require_bwrap, start_session_node
from tests.s3server import S3Server

pytestmark = pytest.mark.node

SCRIPT = (
    "cat /home/work/bucketdata/input.csv; "
    "wc -l < /home/work/bucketdata/input.csv > /home/work/bucketdata/result.txt; "
    "cat /home/work/romodels/model.txt; "
    "echo x > /home/work/romodels/new.txt || echo REFUSED"
)


def test_a_session_reads_and_writes_a_bucket_folder(s3_server: S3Server, tmp_path: Path) -> None:
    require_bwrap()
    client = s3_server.client()
    if not client.bucket_exists("ro-models"):
        client.make_bucket("ro-models")
    client.put_object("ro-models", "model.txt", io.BytesIO(b"weights\n"), 8)
    sn = start_session_node(tmp_path / "var" / "data", NODE_TOML + "\n" + s3_server.volume_toml())
    try:
        sn.ok("vfolder", "create", "bucketdata", "minio")
        (tmp_path / "input.csv").write_text("a,b\n1,2\n")
        sn.ok("vfolder", "upload", "bucketdata", "input.csv", cwd=tmp_path)
        sn.ok(
            "admin", "vfolder", "import", "minio", "ro-models", "--name", "romodels",
            "--owner", "admin@bai.local", "--read-only",
        )  # fmt: skip
        out = sn.ok(
            "run", "--rm", "--image", IMAGE, "-m", "bucketdata", "-m", "romodels",
            "--", "sh", "-c", SCRIPT,
        )  # fmt: skip
        assert "a,b" in out and "weights" in out and "REFUSED" in out
        folder_id = json.loads(sn.ok("vfolder", "info", "bucketdata", "-o", "json"))["id"]
        bucket = "bai-" + folder_id.replace("-", "")
        assert client.get_object(bucket, "result.txt").read().strip() == b"2"
        assert [o.object_name for o in client.list_objects("ro-models")] == ["model.txt"]
        assert fuse_mounts(sn.data_dir / "volumes" / "minio" / "mounts") == []  # released
    finally:
        sn.node.stop()
