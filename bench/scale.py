"""Scale-out benchmark: one node on SQLite, one node on PostgreSQL, two nodes on PostgreSQL.

    .venv/bin/python -m bench.scale [--folders 10000] [--users 100] [--clients 50] [--seconds 20]

Each set-up gets the same data through the API: `--users` users, `--folders` folders spread
over them, one small file per user. Then `--clients` concurrent clients (each one user's
keypair, asyncio tasks in this process) loop for `--seconds`: list their folders
(`GET /folders`) and request a download ticket for their file (`request-download`), split
evenly over the nodes of the set-up. The table gives p50/p99 latency per request kind and
requests per second for each set-up. The PostgreSQL cluster is a throwaway one the bench
starts (Debian's `postgresql`, as in the tests). Client and nodes share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bai.client import BaiClient, ClientConfig
from tests.harness import NodeProcess
from tests.pgserver import PgServer, postgres_unavailable


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"list": [], "ticket": []})
    errors: int = 0
    seconds: float = 0.0


def node_toml(volume: Path, secret: Path, db_url: str | None) -> str:
    db = f'[database]\nurl = "{db_url}"\n' if db_url else ""
    return (
        f'{db}[node]\nsecret_file = "{secret}"\n[storage]\ndefault_host = "shared"\n'
        f'[volume.shared]\nbackend = "vfs"\npath = "{volume}"\nshared = true\n'
        "[sftp]\nenabled = false\n"
    )


def start_nodes(work: Path, count: int, db_url: str | None) -> list[NodeProcess]:
    toml = work / "node.toml"
    toml.write_text(node_toml(work / "volume", work / "secret", db_url))
    nodes = []
    for i in range(count):  # one after the other: the first bootstraps the superadmin
        nodes.append(NodeProcess(work / f"node{i}", args=["--config", str(toml)]).start(60))
    return nodes


async def populate(
    endpoints: list[str], admin: tuple[str, str], users: int, folders: int
) -> list[tuple[str, str, str]]:
    """Users, their folders and one file each; the (access key, secret, folder) of each."""
    async with BaiClient(ClientConfig(endpoints[0], *admin), timeout=120) as c:
        keys = []
        for u in range(users):
            res = await c.post("/admin/users", json={"email": f"u{u}@scale.example.com"})
            keys.append((res["keypair"]["access_key"], res["keypair"]["secret_key"]))
    per_user = max(folders // users, 1)
    gate = asyncio.Semaphore(16)

    async def fill(u: int) -> tuple[str, str, str]:
        ak, sk = keys[u]
        endpoint = endpoints[u % len(endpoints)]
        async with gate, BaiClient(ClientConfig(endpoint, ak, sk), timeout=120) as c:
            for f in range(per_user):
                await c.post("/folders", json={"name": f"f{f:04d}"})
            ticket = await c.post("/folders/f0000/request-upload", json={"path": "x", "size": 4})
            res = await c.http.patch(
                ticket["url"],
                params={"token": ticket["token"]},
                content=b"data",
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            res.raise_for_status()
        return ak, sk, "f0000"

    return list(await asyncio.gather(*(fill(u) for u in range(users))))


async def load(
    endpoints: list[str], users: list[tuple[str, str, str]], clients: int, seconds: float
) -> Samples:
    out = Samples()
    deadline = time.perf_counter() + seconds

    async def client(i: int) -> None:
        ak, sk, folder = users[i % len(users)]
        async with BaiClient(ClientConfig(endpoints[i % len(endpoints)], ak, sk)) as c:
            while time.perf_counter() < deadline:
                for kind in ("list", "ticket"):
                    t0 = time.perf_counter()
                    try:
                        if kind == "list":
                            await c.get("/folders")
                        else:
                            await c.post(f"/folders/{folder}/request-download", json={"path": "x"})
                    except Exception:
                        out.errors += 1
                        continue
                    out.latencies[kind].append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    out.seconds = time.perf_counter() - t0
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def scenario(
    name: str, work: Path, nodes: int, pg: PgServer | None, args: argparse.Namespace
) -> Samples:
    work.mkdir()
    url = pg.new_database(migrated=False) if pg is not None else None
    procs = start_nodes(work, nodes, url)
    try:
        env = next(p.client_env() for p in procs if (p.data_dir / "client.env").exists())
        admin = (env["BACKEND_ACCESS_KEY"], env["BACKEND_SECRET_KEY"])
        endpoints = [p.endpoint for p in procs]
        t0 = time.perf_counter()
        users = await populate(endpoints, admin, args.users, args.folders)
        print(
            f"[{name}] {args.folders:,} folders of {args.users} users made in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        samples = await load(endpoints, users, args.clients, args.seconds)
        total = sum(len(v) for v in samples.latencies.values())
        print(f"[{name}] {total:,} requests in {samples.seconds:.1f} s, {samples.errors} errors")
        return samples
    finally:
        for p in procs:
            p.stop()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folders", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    why = postgres_unavailable()
    if why:
        raise SystemExit(f"bench.scale needs PostgreSQL: {why}")
    pg = PgServer().start()
    results: dict[str, Samples] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bai-scale-") as tmp:
            work = Path(tmp)
            results["SQLite, 1 node"] = await scenario("sqlite-1", work / "s1", 1, None, args)
            results["PostgreSQL, 1 node"] = await scenario("pg-1", work / "p1", 1, pg, args)
            results["PostgreSQL, 2 nodes"] = await scenario("pg-2", work / "p2", 2, pg, args)
    finally:
        pg.stop()
    print(f"\n{args.folders:,} folders, {args.clients} clients, {args.seconds:.0f} s each\n")
    head = (
        f"{'set-up':<22}{'list p50':>10}{'list p99':>10}{'ticket p50':>12}{'ticket p99':>12}"
        f"{'req/s':>9}"
    )
    print(head)
    print("-" * len(head))
    for name, s in results.items():
        lst, tkt = s.latencies["list"], s.latencies["ticket"]
        rate = (len(lst) + len(tkt)) / s.seconds
        print(
            f"{name:<22}{pct(lst, 0.5):>8.1f}ms{pct(lst, 0.99):>8.1f}ms"
            f"{pct(tkt, 0.5):>10.1f}ms{pct(tkt, 0.99):>10.1f}ms{rate:>9.0f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
