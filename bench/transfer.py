"""Transfer benchmark: the node, `bai` and the official client against nginx and curl.

The yardstick is the best plain HTTP on this machine, in the same run: nginx (started here
with a throwaway config: sendfile for downloads, the dav module for PUT uploads) serving curl,
and curl uploading to it. Against those it times, on loopback and the same disk:

- downloads of one file: nginx→curl, node→curl, `bai vfolder download`, `backend.ai vfolder
  download`;
- uploads of one file: curl PUT→nginx, `bai vfolder upload`, `backend.ai vfolder upload`;
- many small files: `bai vfolder upload -r` and a directory download, against one curl process
  sending one request per file to nginx (keep-alive, the strongest plain-HTTP anchor);
- the fsync that the node does before an upload appears (nginx's dav does none), alone.

Each figure is the median of `--rounds` rounds (`--small-rounds` for the many files, which
take minutes each); whole commands, process start-up included.

    .venv/bin/python -m bench.transfer [--size-mib 1024] [--rounds 3] [--files 10000]
                                       [--small-rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bai.client import BaiClient, load_client_config
from tests.harness import NodeProcess, ensure_official_client, official_env, random_file

SMALL = 10 << 10
TIMEOUT = 1800


def run(cmd: list[str], **kw: object) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, **kw)  # type: ignore[call-overload]
    if res.returncode != 0:
        raise SystemExit(f"benchmark step failed: {cmd}\n{res.stdout}\n{res.stderr}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed(fn: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    if before is not None:
        before()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


class Nginx:
    """nginx in the foreground with its own config, logs and temp dirs under `work`."""

    def __init__(self, work: Path) -> None:
        self.root = work / "www"
        (self.root / "up").mkdir(parents=True)
        prefix = work / "nginx"
        prefix.mkdir()
        self.port = free_port()
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = prefix / "nginx.conf"
        conf.write_text(
            f"""
{user}
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/body;
    client_max_body_size 0;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
        location /up/ {{
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw;
        }}
    }}
}}
"""
        )
        self.proc = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(conf)])
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"nginx did not start; see {prefix}/error.log")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Bench:
    def __init__(self, work: Path, size: int, files: int) -> None:
        self.work = work
        self.size = size
        self.src = random_file(work / "payload.bin", size)
        self.out = work / "out"
        self.out.mkdir()
        self.official = ensure_official_client()
        self.nginx = Nginx(work)
        os.link(self.src, self.nginx.root / self.src.name)  # the same bytes, the same cache
        self.node = NodeProcess(work / "data").start()
        self.env = {**os.environ, **self.node.client_env()}
        self.bai(["vfolder", "create", "bench"])
        self.bai(["vfolder", "upload", "bench", self.src.name], cwd=work)
        self.small = work / "small"
        for i in range(files):
            d = self.small / f"d{i // 1000:02d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i:05d}.bin").write_bytes(os.urandom(SMALL))
        self.files = files

    def bai(self, args: list[str], cwd: Path | None = None) -> None:
        run([sys.executable, "-m", "bai", *args], env=self.env, cwd=cwd or self.work)

    def official_cli(self, args: list[str], cwd: Path) -> None:
        run([str(self.official), *args], env=official_env(self.env, self.work), cwd=cwd)

    def ticket(self, path: str) -> str:
        async def go() -> dict[str, str]:
            async with BaiClient(load_client_config(self.work / "data")) as c:
                res: dict[str, str] = await c.post(
                    "/folders/bench/request-download", json={"path": path}
                )
                return res

        t = asyncio.run(go())
        return f"{t['url']}?token={t['token']}"

    def clear_out(self) -> None:
        shutil.rmtree(self.out)
        self.out.mkdir()

    # ---- one big file
    def big(self) -> dict[str, float]:
        mb = self.src.name
        node_url = self.ticket(mb)
        t: dict[str, float] = {}
        c = self.clear_out
        # Part of every `bai` figure below (whole commands); shown so it can be told apart.
        t["bai start-up (a --help)"] = timed(lambda: self.bai(["vfolder", "download", "--help"]))
        curl = ["curl", "-sSf", "-o", str(self.out / "x.bin")]
        # Both files start in the page cache (the node's arrived with direct I/O, past it).
        for url in (self.nginx.url(mb), node_url):
            run(["curl", "-sSf", "-o", "/dev/null", url])
        t["nginx → curl"] = timed(lambda: run([*curl, self.nginx.url(mb)]), c)
        t["node → curl"] = timed(lambda: run([*curl, node_url]), c)
        t["bai download"] = timed(
            lambda: self.bai(["vfolder", "download", "bench", mb, "-b", str(self.out)]), c
        )
        t["backend.ai download"] = timed(
            lambda: self.official_cli(["vfolder", "download", "bench", mb], cwd=self.out), c
        )
        t["curl PUT → nginx"] = timed(
            lambda: run(["curl", "-sSf", "-T", str(self.src), self.nginx.url("up/x.bin")])
        )
        t["bai upload"] = timed(lambda: self.bai(["vfolder", "upload", "bench", mb]))
        t["backend.ai upload"] = timed(
            lambda: self.official_cli(["vfolder", "upload", "bench", mb], cwd=self.work)
        )
        # The node's upload is durable (fsync before the file appears); nginx's is not. What
        # durability costs on this disk, through the page cache, as the same file's copy:
        t["dd to page cache"] = self.dd(fsync=False)
        t["dd + fsync (durable)"] = self.dd(fsync=True)
        return t

    def dd(self, fsync: bool) -> float:
        target = self.work / "dd.bin"
        conv = ["conv=fsync"] if fsync else []
        secs = timed(
            lambda: run(["dd", f"if={self.src}", f"of={target}", "bs=8M", "status=none", *conv]),
            os.sync,  # nothing else's writeback in the way
        )
        target.unlink()
        return secs

    # ---- many small files
    def many(self) -> dict[str, float]:
        t: dict[str, float] = {}
        dirs = sorted(self.small.iterdir())
        up = self.work / "curl-up.cfg"
        up.write_text(
            "".join(
                f'upload-file = "{f}"\nurl = "{self.nginx.url(f"up/small/{d.name}/{f.name}")}"\n'
                for d in dirs
                for f in sorted(d.iterdir())
            )
        )
        shutil.rmtree(self.nginx.root / "up" / "small", ignore_errors=True)
        t["curl PUT → nginx, per file"] = timed(lambda: run(["curl", "-sSf", "-K", str(up)]))
        down = self.work / "curl-down.cfg"
        down.write_text(
            "".join(
                f'url = "{self.nginx.url(f"up/small/{d.name}/{f.name}")}"\n'
                f'output = "{self.out}/{d.name}/{f.name}"\n'
                for d in dirs
                for f in sorted(d.iterdir())
            )
        )
        t["nginx → curl, per file"] = timed(
            lambda: run(["curl", "-sSf", "--create-dirs", "-K", str(down)]), self.clear_out
        )
        t["bai upload -r"] = timed(
            lambda: self.bai(["vfolder", "upload", "bench", "-r", "small"], cwd=self.work)
        )
        t["bai download (directory)"] = timed(
            lambda: self.bai(["vfolder", "download", "bench", "small", "-b", str(self.out)]),
            self.clear_out,
        )
        return t


def report(title: str, rounds: list[dict[str, float]], unit: float, label: str) -> None:
    names = list(rounds[0])
    med = {n: statistics.median(r[n] for r in rounds) for n in names}
    print(f"\n{title} (median of {len(rounds)} rounds; spread = slowest/fastest):")
    for n in names:
        secs = [r[n] for r in rounds]
        spread = max(secs) / min(secs) if min(secs) > 0 else 1.0
        print(f"  {n:28s} {med[n]:7.2f} s {unit / med[n]:9.1f} {label}   spread {spread:4.2f}")
    return_med.update(med)


return_med: dict[str, float] = {}


def ratios() -> None:
    m = return_med

    def ratio(a: str, b: str) -> str:
        return f"{m[b] / m[a]:5.2f}x" if a in m and b in m else "  n/a"

    print("\nRatios (higher is faster; targets in brackets):")
    print(f"  node → curl / nginx → curl          {ratio('node → curl', 'nginx → curl')}  [≥ 0.9]")
    print(f"  bai download / nginx → curl         {ratio('bai download', 'nginx → curl')}  [≥ 1.0]")
    print(f"  backend.ai download / nginx → curl  {ratio('backend.ai download', 'nginx → curl')}")
    print(
        f"  bai upload / curl PUT → nginx       {ratio('bai upload', 'curl PUT → nginx')}  [≥ 1.0]"
    )
    print(f"  backend.ai upload / curl PUT        {ratio('backend.ai upload', 'curl PUT → nginx')}")
    print(
        "  bai upload -r / curl PUT per file   "
        f"{ratio('bai upload -r', 'curl PUT → nginx, per file')}  [≥ 1.0]"
    )
    print(
        "  bai dir download / curl per file    "
        f"{ratio('bai download (directory)', 'nginx → curl, per file')}  [≥ 1.0]"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--small-rounds", type=int, default=1, help="rounds of the many-files part")
    args = ap.parse_args()
    if shutil.which("nginx") is None:
        raise SystemExit("nginx is not installed (Debian: apt-get install nginx-light)")
    work = Path(tempfile.mkdtemp(prefix="bai-bench-", dir=os.environ.get("BAI_BENCH_DIR")))
    bench = None
    try:
        bench = Bench(work, args.size_mib << 20, args.files)
        big = [bench.big() for _ in range(args.rounds)]
        report(f"One file of {args.size_mib} MiB on loopback", big, bench.size / 1e6, "MB/s")
        if args.files:
            many = [bench.many() for _ in range(args.small_rounds)]
            report(f"{args.files:,} files of 10 KiB", many, args.files, "files/s")
        ratios()
    finally:
        if bench is not None:
            bench.node.stop()
            bench.nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
