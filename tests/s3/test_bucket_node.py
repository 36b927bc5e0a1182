"""Bucket folders end to end: the seed's `[volume.minio]` block in node.toml, a real
`bai serve`, `bai` and the official client, and a real S3 server (moto) holding the bytes."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import NodeProcess, backend_ai, random_file, run_bai, sha256
from tests.s3server import SECRET_KEY, S3Server

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def s3_node(tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server) -> Iterator[NodeProcess]:
    base = tmp_path_factory.mktemp("s3node")
    conf = base / "node.toml"
    conf.write_text(
        '[volume.local]\nbackend = "vfs"\npath = "volumes/local"\n\n'
        + s3_server.volume_toml("minio", "part-size = 5\n")
    )
    node = NodeProcess(base / "bai-data", args=["--config", str(conf)]).start()
    yield node
    node.stop()
    log = "\n".join(node.output)
    assert SECRET_KEY not in log  # the volume's secret key never reaches the log


def ok(*args: str, env: dict[str, str], cwd: Path | None = None) -> str:
    res = run_bai(*args, env=env, cwd=cwd)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def js(*args: str, env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    return json.loads(ok(*args, "-o", "json", env=env))  # type: ignore[no-any-return]


def test_folder_on_a_bucket_round_trips_through_bai_and_the_official_client(
    s3_node: NodeProcess, s3_server: S3Server, official_cli: Path, tmp_path: Path
) -> None:
    env = s3_node.client_env()
    assert "minio" in ok("vfolder", "list-hosts", env=env)
    ok("vfolder", "create", "models1", "minio", env=env)
    info = js("vfolder", "info", "models1", env=env)
    big = random_file(tmp_path / "weights.bin", 12 * (1 << 20) + 123)  # three 5 MiB parts
    ok("vfolder", "upload", "models1", "weights.bin", "-d", "ckpt", env=env, cwd=tmp_path)
    # The bytes are an object in the folder's own bucket, written as a multipart upload.
    s3 = s3_server.client()
    bucket = f"bai-{info['id'].replace('-', '')}"
    stat = s3.stat_object(bucket, "ckpt/weights.bin")
    assert stat.size == big.stat().st_size and "-" in (stat.etag or "")  # a multipart ETag
    out = tmp_path / "out"
    ok("vfolder", "download", "models1", "ckpt/weights.bin", "-b", str(out), env=env)
    assert sha256(out / "weights.bin") == sha256(big)
    # Ranged reads stream straight from the object.
    url = ok("vfolder", "request-download", "models1", "ckpt/weights.bin", env=env).strip()
    import httpx

    r = httpx.get(url, headers={"Range": "bytes=5242870-5242889"})
    assert r.status_code == 206 and r.content == big.read_bytes()[5242870:5242890]

    # The official client, unchanged, on the same folder.
    ba = lambda *a, **kw: backend_ai(official_cli, env, tmp_path, *a, **kw)  # noqa: E731
    (tmp_path / "notes.txt").write_text("from the official client\n")
    res = ba("vfolder", "upload", "models1", "./notes.txt")
    assert res.returncode == 0, res.stdout + res.stderr
    assert s3.get_object(bucket, "notes.txt").read() == b"from the official client\n"
    (tmp_path / "notes.txt").unlink()
    res = ba("vfolder", "download", "models1", "./notes.txt")
    assert res.returncode == 0 and (tmp_path / "notes.txt").read_text().startswith("from the")
    listing = ba("vfolder", "ls", "models1", ".")
    assert "ckpt" in listing.stdout and "notes.txt" in listing.stdout

    # Files, directories and usage, exactly as on a local volume.
    ok("vfolder", "mkdir", "models1", "empty/inner", "-p", env=env)
    ok("vfolder", "mv", "models1", "ckpt", "empty/inner", env=env)
    names = {
        f["name"] for f in js("vfolder", "ls", "models1", "empty/inner/ckpt", env=env)["files"]
    }
    assert names == {"weights.bin"}
    info = js("vfolder", "info", "models1", env=env)
    assert info["num_files"] == 2 and info["cur_size"] == big.stat().st_size + 25
    ok("vfolder", "rm", "-y", "-r", "models1", "empty", env=env)
    assert [o.object_name for o in s3.list_objects(bucket, recursive=True)] == ["notes.txt"]
    ok("vfolder", "delete", "-y", "models1", env=env)
    ok("vfolder", "delete-trash", "-y", "models1", env=env)
    deadline = time.monotonic() + 20
    while s3.bucket_exists(bucket) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not s3.bucket_exists(bucket)  # delete forever removes the bucket the node made


def _fill(s3_server: S3Server, bucket: str, objects: dict[str, bytes]) -> None:
    s3 = s3_server.client()
    if not s3.bucket_exists(bucket):
        s3.make_bucket(bucket)
    for key, data in objects.items():
        s3.put_object(bucket, key, io.BytesIO(data), len(data))


def test_an_existing_bucket_and_a_prefix_become_folders_without_a_copy(
    s3_node: NodeProcess, s3_server: S3Server, tmp_path: Path
) -> None:
    env = s3_node.client_env()
    objects = {
        "llama/config.json": b'{"layers": 2}',
        "llama/weights/part-0": b"w" * 3000,
        "readme.md": b"# models\n",
    }
    _fill(s3_server, "team-models", objects)
    res = run_bai("admin", "vfolder", "import", "minio", "team-models", "--name", "x", env=env)
    assert res.returncode == 65 and "--owner" in res.stderr  # an owner is required
    out = ok(
        "admin",
        "vfolder",
        "import",
        "minio",
        "team-models",
        "--name",
        "team-models",
        "--owner",
        "admin@bai.local",
        "--read-only",
        env=env,
    )
    assert "Imported team-models" in out
    names = {f["name"] for f in js("vfolder", "ls", "team-models", env=env)["files"]}
    assert names == {"llama", "readme.md"}
    ok("vfolder", "download", "team-models", "llama/config.json", "-b", str(tmp_path), env=env)
    assert (tmp_path / "config.json").read_bytes() == b'{"layers": 2}'
    # Read-only: every write is refused, saying why; the bucket is unchanged.
    (tmp_path / "new.txt").write_text("no")
    for args in (
        ("vfolder", "upload", "team-models", "new.txt"),
        ("vfolder", "mkdir", "team-models", "d"),
        ("vfolder", "rm", "-y", "team-models", "readme.md"),
        ("vfolder", "mv", "team-models", "readme.md", "moved.md"),
    ):
        res = run_bai(*args, env=env, cwd=tmp_path)
        assert res.returncode == 77 and "read-only" in res.stderr, (args, res.stderr)
    keys = {o.object_name for o in s3_server.client().list_objects("team-models", recursive=True)}
    assert keys == set(objects)
    info = js("vfolder", "info", "team-models", env=env)
    assert info["read_only"] is True and info["bucket"] == "team-models/"
    assert info["usage_mode"] == "model"
    # Usage comes from the reconcile listing, off the request path.
    report = js("admin", "reconcile", "--folder", info["id"], env=env)
    assert report["results"][0]["bytes"] == sum(len(d) for d in objects.values())
    assert js("vfolder", "info", "team-models", env=env)["num_files"] == 3

    # A prefix of the same bucket overlaps the import: refused. A prefix of another: fine.
    res = run_bai(
        "admin",
        "vfolder",
        "import",
        "minio",
        "team-models/llama",
        "--name",
        "llama",
        "--owner",
        "admin@bai.local",
        env=env,
    )
    assert res.returncode == 73 and "overlaps" in res.stderr
    _fill(s3_server, "shared-data", {"a/x.csv": b"1,2\n", "b/y.csv": b"3,4\n"})
    ok(
        "admin",
        "vfolder",
        "import",
        "minio",
        "shared-data/a",
        "--name",
        "only-a",
        "--owner",
        "admin@bai.local",
        "-m",
        "data",
        env=env,
    )
    assert {f["name"] for f in js("vfolder", "ls", "only-a", env=env)["files"]} == {"x.csv"}
    ok("vfolder", "upload", "only-a", "new.txt", env=env, cwd=tmp_path)  # read-write import
    assert s3_server.client().get_object("shared-data", "a/new.txt").read() == b"no"
    # Deleting an imported folder forgets it; the objects stay in the bucket.
    ok("vfolder", "delete", "-y", "only-a", env=env)
    ok("vfolder", "delete-trash", "-y", "only-a", env=env)
    time.sleep(1.0)
    keys = {o.object_name for o in s3_server.client().list_objects("shared-data", recursive=True)}
    assert keys == {"a/x.csv", "b/y.csv", "a/new.txt"}
    res = run_bai(
        "admin",
        "vfolder",
        "import",
        "minio",
        "no-such-bucket",
        "--name",
        "nb",
        "--owner",
        "admin@bai.local",
        env=env,
    )
    assert res.returncode == 66 and "does not exist" in res.stderr


def test_imported_credentials_are_sealed_and_never_shown(
    s3_node: NodeProcess, s3_server: S3Server
) -> None:
    env = s3_node.client_env()
    _fill(s3_server, "private-bucket", {"k": b"v"})
    secret = "bucket-own-secret-0123456789"
    res = run_bai(
        "admin",
        "vfolder",
        "import",
        "minio",
        "private-bucket",
        "--name",
        "private",
        "--owner",
        "admin@bai.local",
        "--access-key",
        "OWNKEY",
        "-o",
        "json",
        env={**env, "BAI_IMPORT_SECRET_KEY": secret},
    )
    assert res.returncode == 0, res.stderr
    assert secret not in res.stdout and "OWNKEY" not in res.stdout
    info = run_bai("vfolder", "info", "private", "-o", "json", env=env).stdout
    assert secret not in info and "secret" not in info.lower()
    db = sqlite3.connect(s3_node.data_dir / "bai.db")
    (meta,) = db.execute("SELECT storage_meta FROM vfolders WHERE name='private'").fetchone()
    db.close()
    assert secret not in meta and json.loads(meta)["secret_sealed"]  # sealed at rest
    # moto accepts any keys, so the folder works with its own credentials.
    assert "k" in run_bai("vfolder", "ls", "private", env=env).stdout
    assert secret not in "\n".join(s3_node.output)


def test_a_bucket_folder_over_sftp(
    s3_node: NodeProcess, s3_server: S3Server, tmp_path: Path
) -> None:
    """OpenSSH's sftp writes with many requests in flight, out of order: the parts still
    land byte-exact as one object."""
    from tests.sftp.conftest import SftpWorld
    from tests.sftp.openssh import require_openssh, sftp

    require_openssh()
    world = SftpWorld(s3_node, tmp_path)
    user = world.user()
    user.folder("sbucket", host="minio")
    user.start("sbucket")
    t = world.target(user)
    big = random_file(tmp_path / "ckpt.bin", 11 * (1 << 20) + 5)
    res = sftp(
        t,
        "mkdir /sbucket/run",
        "put ckpt.bin /sbucket/run/ckpt.bin",
        "get /sbucket/run/ckpt.bin back.bin",
        "ls -l /sbucket/run",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr + "\n".join(s3_node.output[-60:])
    assert sha256(tmp_path / "back.bin") == sha256(big)
    assert "ckpt.bin" in res.stdout
    info = user.call(lambda c: c.folders.info("sbucket"))
    bucket = f"bai-{info.id.hex}"
    assert s3_server.client().stat_object(bucket, "run/ckpt.bin").size == big.stat().st_size


def test_quota_on_a_bucket_host_is_enforced_at_admission(
    s3_node: NodeProcess, s3_server: S3Server, tmp_path: Path
) -> None:
    """S3 has no quotas: the node's own accounting refuses the write before any byte moves,
    and nothing reaches the bucket."""
    env = s3_node.client_env()
    res = run_bai("admin", "user", "create", "s3tight@example.com", "-o", "json", env=env)
    kp = json.loads(res.stdout)["keypair"]
    user = {**env, "BACKEND_ACCESS_KEY": kp["access_key"], "BACKEND_SECRET_KEY": kp["secret_key"]}
    ok("vfolder", "create", "tightb", "minio", env=user)
    ok("admin", "quota-scope", "set", "minio", "s3tight@example.com", "1m", env=env)
    (tmp_path / "small.bin").write_bytes(b"s" * 1000)
    (tmp_path / "big.bin").write_bytes(b"x" * (2 << 20))
    ok("vfolder", "upload", "tightb", "small.bin", env=user, cwd=tmp_path)
    res = run_bai("vfolder", "upload", "tightb", "big.bin", env=user, cwd=tmp_path)
    assert res.returncode == 73 and "quota exceeded" in res.stderr
    info = js("vfolder", "info", "tightb", env=user)
    keys = [
        o.object_name
        for o in s3_server.client().list_objects(
            f"bai-{info['id'].replace('-', '')}", recursive=True
        )
    ]
    assert keys == ["small.bin"] and info["cur_size"] == 1000
