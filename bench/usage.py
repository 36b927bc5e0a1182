"""Usage benchmark: reading a folder's usage through the API, and the reconcile scan, against
`du -sb` on the same tree in the same run, on vfs and (as root, with loop devices) btrfs.

    .venv/bin/python -m bench.usage [--files 1000000]

The files are written behind the node's back, as a compute session would; the bench first
waits for the node's watcher to pick them up, then times (warm page cache):
  - usage read: GET /admin/quota-scopes/… and GET /folders/NAME (median of 50 requests);
  - `du -sb` of the folder, and the node's reconcile scan of it (files per second).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bai.client import BaiClient, load_client_config
from tests.harness import NodeProcess, btrfs_unavailable

PER_DIR = 1000


def make_files(root: Path, count: int) -> None:
    payload = b"x" * 100
    for start in range(0, count, PER_DIR):
        d = root / f"d{start // PER_DIR:05d}"
        d.mkdir()
        for i in range(min(PER_DIR, count - start)):
            fd = os.open(d / f"f{i:04d}", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, payload)
            os.close(fd)


async def run_backend(work: Path, backend: str, volume_path: Path, count: int) -> None:
    data = work / f"data-{backend}"
    data.mkdir()
    (data / "node.toml").write_text(
        f'[storage]\ndefault_host = "bench"\n[volume.bench]\nbackend = "{backend}"\n'
        f'path = "{volume_path}"\n'
    )
    node = NodeProcess(data).start()
    try:
        async with BaiClient(load_client_config(data)) as c:
            info = await c.post("/folders", json={"name": "many", "host": "bench"})
            h = info["id"].replace("-", "")
            folder = volume_path / info["user"].replace("-", "") / h[:2] / h[2:4] / h[4:]
            t0 = time.perf_counter()
            await asyncio.to_thread(make_files, folder, count)
            made = time.perf_counter() - t0
            print(
                f"\n[{backend}] wrote {count:,} files of 100 bytes in {made:.1f} s "
                "behind the node's back"
            )
            t0 = time.perf_counter()
            while (await c.get("/folders/many"))["num_files"] != count:
                if time.perf_counter() - t0 > 600:
                    raise SystemExit("the watcher did not catch up within 10 minutes")
                await asyncio.sleep(0.5)
            print(
                f"[{backend}] the watcher's reconcile showed all of them "
                f"{time.perf_counter() - t0:.1f} s after the writes ended"
            )

            async def timed_reads(path: str) -> float:
                samples = []
                for _ in range(50):
                    t = time.perf_counter()
                    await c.get(path)
                    samples.append(time.perf_counter() - t)
                return statistics.median(samples) * 1000

            scope_ms = await timed_reads("/admin/quota-scopes/bench/admin@bai.local")
            folder_ms = await timed_reads("/folders/many")
            subprocess.run(["du", "-sb", str(folder)], capture_output=True, check=True)  # warm
            t = time.perf_counter()
            subprocess.run(["du", "-sb", str(folder)], capture_output=True, check=True)
            du_s = time.perf_counter() - t
            res: dict[str, Any] = await c.post("/admin/reconcile", json={"folder": "many"})
            scan = res["results"][0]
            scan_s = scan["seconds"]
            print(
                f"[{backend}] usage read via API: scope {scope_ms:.1f} ms, folder "
                f"{folder_ms:.1f} ms (median of 50)  vs  du -sb {du_s * 1000:.0f} ms "
                f"-> {du_s * 1000 / max(scope_ms, folder_ms):.0f}x faster"
            )
            print(
                f"[{backend}] reconcile scan: {count / scan_s:,.0f} files/s ({scan_s:.2f} s, "
                f"corrected {scan['corrected_files']:+d} files)  vs  du -sb "
                f"{count / du_s:,.0f} files/s  -> {du_s / scan_s:.2f}x du"
            )
    finally:
        node.stop()


def btrfs_image(work: Path) -> Path | None:
    why = btrfs_unavailable()
    if why:
        print(f"\n[btrfs] skipped: {why}")
        return None
    image, mnt = work / "btrfs.img", work / "btrfs"
    mnt.mkdir()
    with image.open("wb") as f:
        f.truncate(16 << 30)
    subprocess.run(["mkfs.btrfs", "-q", str(image)], check=True, capture_output=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], check=True)
    return mnt


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--files", type=int, default=1_000_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bai-usage-", dir=os.environ.get("BAI_BENCH_DIR")))
    mnt = None
    try:
        asyncio.run(run_backend(work, "vfs", work / "vfs", args.files))
        mnt = btrfs_image(work)
        if mnt is not None:
            asyncio.run(run_backend(work, "btrfs", mnt / "vol", args.files))
    finally:
        if mnt is not None:
            subprocess.run(["umount", str(mnt)], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
