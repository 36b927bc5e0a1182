"""SFTP benchmark: put and get of one file through the node's SFTP service and through
OpenSSH's own `sftp-server`, with the same client, cipher and disk, in one run.

Starts a real `bai serve` and a throwaway `sshd` on loopback (Debian's `openssh-server`,
which scripts/test installs) whose only job is `sftp-server`; both write into the same work
directory. Each round runs the four transfers back to back (bai put, OpenSSH put, bai get,
OpenSSH get), alternating which server goes first, so noise from the machine falls on both;
the figures are medians over the rounds. Ciphers: aes128-gcm@openssh.com and OpenSSH's
default, chacha20-poly1305@openssh.com. Whole `sftp -b` runs are timed (start-up and login
included, the same for both). The node makes every upload durable (fsync before the file
appears); OpenSSH's server does not, so the node's put pays for that.

    .venv/bin/python -m bench.sftp [--size-mib 1024] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bai.client import BaiClient, load_client_config
from bai.client.sftp import write_private_key
from tests.harness import NodeProcess, random_file, sha256

CIPHERS = ("aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
SSHD = Path("/usr/sbin/sshd")


def check(res: subprocess.CompletedProcess[str]) -> None:
    if res.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{res.stdout}\n{res.stderr}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One SFTP server as the client reaches it: port, user, key, and where files go."""

    def __init__(self, name: str, port: int, user: str, key: Path, remote_dir: str) -> None:
        self.name = name
        self.port = port
        self.user = user
        self.key = key
        self.remote_dir = remote_dir

    def sftp(self, command: str, cipher: str, cwd: Path) -> float:
        t0 = time.perf_counter()
        res = subprocess.run(
            [
                "sftp",
                "-q",
                "-i",
                str(self.key),
                "-P",
                str(self.port),
                "-o",
                f"Ciphers={cipher}",
                "-o",
                "Compression=no",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-b",
                "-",
                f"{self.user}@127.0.0.1",
            ],
            input=command + "\n",
            capture_output=True,
            text=True,
            cwd=cwd,
        )
        secs = time.perf_counter() - t0
        check(res)
        return secs


class Bench:
    def __init__(self, work: Path, size: int) -> None:
        self.work = work
        self.size = size
        self.src = random_file(work / "payload.bin", size)
        self.out = work / "out"
        self.out.mkdir()
        self.node = NodeProcess(work / "data").start()
        self.sshd: subprocess.Popen[bytes] | None = None
        self.bai = self._bai()
        self.openssh = self._openssh()

    def _bai(self) -> Server:
        async def setup() -> tuple[str, str]:
            async with BaiClient(load_client_config(self.work / "data")) as c:
                await c.folders.create("bench")
                await c.ssh_keypair.generate()
                key = (await c.ssh_keypair.download()).ssh_private_key
                started = await c.sftp.start(["bench"])
                return key, started.connection.user

        key, user = asyncio.run(setup())
        path = write_private_key(self.work / "bai-key", key)
        return Server("bai", self.node.sftp_port, user, path, "/bench")

    def _openssh(self) -> Server:
        for exe in (SSHD, SFTP_SERVER):
            if not exe.exists():
                raise SystemExit(f"{exe} is missing: install Debian's openssh-server")
        base = self.work / "sshd"
        base.mkdir()
        for name in ("host_key", "user_key"):
            check(
                subprocess.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / name)],
                    capture_output=True,
                    text=True,
                )
            )
        shutil.copy(base / "user_key.pub", base / "authorized_keys")
        port = free_port()
        (base / "sshd_config").write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {base / 'host_key'}\n"
            f"AuthorizedKeysFile {base / 'authorized_keys'}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            f"PidFile {base / 'sshd.pid'}\nSubsystem sftp {SFTP_SERVER}\nCompression no\n"
        )
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
        self.sshd = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(base / "sshd_config")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            raise SystemExit("the throwaway sshd did not start")
        target = self.work / "openssh-files"
        target.mkdir()
        return Server("OpenSSH", port, getpass.getuser(), base / "user_key", str(target))

    def put(self, server: Server, cipher: str) -> float:
        return server.sftp(f"put {self.src} {server.remote_dir}/payload.bin", cipher, self.out)

    def get(self, server: Server, cipher: str) -> float:
        local = self.out / f"{server.name}.bin"
        local.unlink(missing_ok=True)
        return server.sftp(f"get {server.remote_dir}/payload.bin {local}", cipher, self.out)

    def run(self, rounds: int) -> None:
        mb = self.size / 1e6
        print(
            f"SFTP transfer of {self.size >> 20} MiB on loopback, same disk and client "
            f"(OpenSSH sftp), median of {rounds} rounds:"
        )
        print(f"  {'cipher':30s} {'op':4s} {'bai':>10s} {'OpenSSH':>10s} {'ratio':>7s}")
        for cipher in CIPHERS:
            times: dict[tuple[str, str], list[float]] = {}
            for i in range(rounds):
                order = (self.bai, self.openssh) if i % 2 == 0 else (self.openssh, self.bai)
                for op, fn in (("put", self.put), ("get", self.get)):
                    for server in order:
                        times.setdefault((op, server.name), []).append(fn(server, cipher))
            for op in ("put", "get"):
                ours = mb / statistics.median(times[(op, "bai")])
                theirs = mb / statistics.median(times[(op, "OpenSSH")])
                print(
                    f"  {cipher:30s} {op:4s} {ours:7.1f} MB/s {theirs:7.1f} MB/s "
                    f"{ours / theirs:6.2f}x"
                )
        want = sha256(self.src)
        for server in (self.bai, self.openssh):
            if sha256(self.out / f"{server.name}.bin") != want:
                raise SystemExit(f"{server.name}: the file read back differs from the one sent")
        print("  (MB = 10^6 bytes; the files read back match the one sent)")

    def close(self) -> None:
        if self.sshd is not None:
            self.sshd.terminate()
            self.sshd.wait(10)
        self.node.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if shutil.which("sftp") is None:
        raise SystemExit("the OpenSSH client (sftp) is missing: install openssh-client")
    work = Path(tempfile.mkdtemp(prefix="bai-bench-sftp-", dir=os.environ.get("BAI_BENCH_DIR")))
    bench = None
    try:
        bench = Bench(work, args.size_mib << 20)
        bench.run(args.rounds)
    finally:
        if bench is not None:
            bench.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
