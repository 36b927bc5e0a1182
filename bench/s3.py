"""Bucket-folder benchmark: the node on a minio volume against the `minio` client talking to
the same S3 server directly, in one run (seed 002's open questions, answered with numbers).

    .venv/bin/python -m bench.s3 [--size-mib 1024] [--rounds 3] [--objects 100000]

The S3 server is `moto_server` (the MinIO server binary is not in our registries), started
by the bench on a free port; both sides pay its costs, so the ratios compare the node's path
(HTTP → node → S3 multipart parts, and back) with a direct S3 client. Figures:
  1. 1 GiB upload and download: `bai vfolder upload|download` vs the minio client's
     fput_object/fget_object (same part size), MB/s medians and ratios (target ≥ 0.8×);
  2. a prefix of N objects imported as a folder: usage read from the node's accounting
     (median of 50 `GET /folders/NAME`, target < 50 ms), the reconcile listing of the whole
     prefix, and the node's streamed `ls` of one directory vs a direct S3 listing;
  3. s3fs: mount + first read latency of a folder, and of a second borrower (a count bump).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from bai.client import BaiClient, load_client_config
from bai.config import VolumeConfig
from bai.storage.base import FolderRef
from bai.storage.buckets import MinioVolume
from tests.harness import NodeProcess, run_bai
from tests.s3server import ACCESS_KEY, SECRET_KEY, S3Server

MiB = 1 << 20
PART = 16  # MiB, for the node's volume and the minio client alike


def sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 * MiB):
            h.update(chunk)
    return h.hexdigest()


def timed(fn: Callable[..., object], *args: object, **kwargs: object) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def bai_ok(*args: str, env: dict[str, str], cwd: Path | None = None) -> None:
    res = run_bai(*args, env=env, cwd=cwd)
    if res.returncode != 0:
        raise SystemExit(f"bai {' '.join(args)} failed: {res.stderr}")


def transfers(work: Path, s3: S3Server, env: dict[str, str], size_mib: int, rounds: int) -> None:
    src = work / "payload.bin"
    with src.open("wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(MiB))
    digest = sha(src)
    client = s3.client()
    client.make_bucket("bench-direct")
    bai_ok("vfolder", "create", "bench", "minio", env=env)
    up: dict[str, list[float]] = {"node": [], "direct": []}
    down: dict[str, list[float]] = {"node": [], "direct": []}
    for r in range(rounds):
        out = work / f"out{r}"
        up["direct"].append(
            timed(client.fput_object, "bench-direct", f"p{r}", str(src), part_size=PART * MiB)
        )
        up["node"].append(
            timed(
                bai_ok,
                "vfolder",
                "upload",
                "bench",
                "payload.bin",
                "-d",
                f"r{r}",
                env=env,
                cwd=work,
            )
        )
        down["direct"].append(
            timed(client.fget_object, "bench-direct", f"p{r}", str(out / "d.bin"))
        )
        down["node"].append(
            # One stream, as the minio client reads: moto loads the whole object for every
            # ranged GET, so parallel ranges measure moto, not the node.
            timed(
                bai_ok,
                "vfolder",
                "download",
                "bench",
                f"r{r}/payload.bin",
                "-b",
                str(out),
                "--streams",
                "1",
                env=env,
            )
        )
        if sha(out / "payload.bin") != digest or sha(out / "d.bin") != digest:
            raise SystemExit("a transfer was not byte-exact")
        for p in out.iterdir():
            p.unlink()
    mb = size_mib * MiB / 1e6
    print(f"\n1. {size_mib} MiB transfers, medians of {rounds} rounds (MB/s)")
    print(f"   {'':10} {'minio client':>14} {'through node':>14} {'ratio':>7}")
    for name, runs in (("upload", up), ("download", down)):
        direct = mb / statistics.median(runs["direct"])
        node = mb / statistics.median(runs["node"])
        print(f"   {name:10} {direct:14.1f} {node:14.1f} {node / direct:6.2f}×")


def fill_prefix(s3: S3Server, bucket: str, count: int) -> float:
    client = s3.client()
    client.make_bucket(bucket)
    t0 = time.perf_counter()

    def put(i: int) -> None:
        key = f"data/d{i // 1000:03d}/f{i % 1000:04d}"
        client.put_object(bucket, key, io.BytesIO(b"x" * 100), 100)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))
    return time.perf_counter() - t0


async def listing(data: Path, s3: S3Server, count: int) -> None:
    made = await asyncio.to_thread(fill_prefix, s3, "bench-many", count)
    print(f"\n2. {count:,} objects of 100 bytes under one prefix (written in {made:.0f} s)")
    async with BaiClient(load_client_config(data)) as c:
        await c.post(
            "/folders/_/import",
            json={
                "source": "bench-many/data",
                "name": "many",
                "host": "minio",
                "owner": "admin@bai.local",
            },
        )
        # The import marks the folder; the node's background reconcile lists the prefix
        # (paged, its time budget doubling until the walk fits) and records the usage.
        t0 = time.perf_counter()
        while (await c.get("/folders/many"))["num_files"] != count:
            if time.perf_counter() - t0 > 3600:
                raise SystemExit("the background reconcile did not finish within an hour")
            await asyncio.sleep(0.5)
        spent = time.perf_counter() - t0
        client = s3.client()
        t1 = time.perf_counter()
        listed = sum(1 for _ in client.list_objects("bench-many", prefix="data/", recursive=True))
        direct = time.perf_counter() - t1
        print(
            f"   background reconcile after import: usage right {spent:.1f} s later "
            f"({count / spent:,.0f} objects/s); a direct S3 listing of the prefix "
            f"({listed:,} keys) takes {direct:.1f} s"
        )
        samples = []
        for _ in range(50):
            t = time.perf_counter()
            await c.get("/folders/many")
            samples.append(time.perf_counter() - t)
        print(
            f"   usage read from accounting: {statistics.median(samples) * 1000:.1f} ms "
            "(median of 50; target < 50 ms)"
        )
        t0 = time.perf_counter()
        entries = 0
        async for _ in c.files.iter_ls("many", "d000"):
            entries += 1
        node_ls = time.perf_counter() - t0
    client = s3.client()
    t0 = time.perf_counter()
    direct = sum(1 for _ in client.list_objects("bench-many", prefix="data/d000/"))
    direct_ls = time.perf_counter() - t0
    print(
        f"   ls of a 1,000-object directory: node {node_ls * 1000:.0f} ms "
        f"({entries} entries), direct S3 listing {direct_ls * 1000:.0f} ms ({direct}), "
        f"ratio {direct_ls / node_ls:.2f}×"
    )


async def mounts(work: Path, s3: S3Server) -> None:
    vol = MinioVolume(
        VolumeConfig(
            "m",
            "minio",
            work / "mvol",
            s3.url,
            {"minio-access-key": ACCESS_KEY, "minio-secret-key": SECRET_KEY},
        )
    )
    await vol.init()
    scope, fid = uuid.uuid4().hex, uuid.uuid4()
    ref = FolderRef(scope, fid, vol.locate(scope, fid))
    await vol.create_folder(ref)
    up = await vol.open_upload(ref, uuid.uuid4().hex, PurePosixPath("model.bin"))
    await up.write(0, [os.urandom(4 * MiB)])
    await up.commit()
    firsts, seconds = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        path = await vol.acquire_mount(ref)
        await asyncio.to_thread((path / "model.bin").read_bytes)
        firsts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await vol.acquire_mount(ref)
        seconds.append(time.perf_counter() - t0)
        await vol.release_mount(ref)
        await vol.release_mount(ref)
    await vol.close()
    print("\n3. s3fs mounts (medians of 5)")
    print(f"   mount + first read of a 4 MiB file: {statistics.median(firsts) * 1000:.0f} ms")
    print(f"   a second borrower of the same mount: {statistics.median(seconds) * 1000:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--objects", type=int, default=100_000)
    args = ap.parse_args()
    s3 = S3Server().start()
    with tempfile.TemporaryDirectory(prefix="bai-bench-s3-") as tmp:
        work = Path(tmp)
        (work / "node.toml").write_text(
            '[volume.local]\nbackend = "vfs"\npath = "volumes/local"\n\n'
            + s3.volume_toml("minio", f"part-size = {PART}\n")
        )
        node = NodeProcess(work / "data", args=["--config", str(work / "node.toml")]).start()
        try:
            env = node.client_env()
            print(f"S3 server: moto_server at {s3.url}; node {node.endpoint}")
            if args.size_mib:
                transfers(work, s3, env, args.size_mib, args.rounds)
            if args.objects:
                asyncio.run(listing(work / "data", s3, args.objects))
            asyncio.run(mounts(work, s3))
        finally:
            node.stop()
            s3.stop()


if __name__ == "__main__":
    main()
