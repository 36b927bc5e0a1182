"""Test harness: a real `bai serve` process, and the official client in its own virtualenv."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OFFICIAL_VENV = Path(os.environ.get("BAI_OFFICIAL_CLIENT_VENV", REPO / ".cache/official-client"))
OFFICIAL_PINS = ["backend.ai-client==23.9.10", "yarl<1.10"]
_LISTEN_RE = re.compile(r"listening on (http://\S+)")
_SFTP_RE = re.compile(r"sftp:\s+(?:(\S+):(\d+)\s+\(host key (\S+)\)|off)")


@dataclass
class NodeProcess:
    data_dir: Path
    args: list[str] = field(default_factory=list)
    cwd: Path | None = None
    # False runs `bai serve` as a new user would: no --data-dir, in `cwd`.
    pass_data_dir: bool = True
    proc: subprocess.Popen[str] | None = None
    endpoint: str = ""
    sftp_port: int = 0  # 0 when the node runs no SFTP service
    sftp_fingerprint: str = ""
    output: list[str] = field(default_factory=list)
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def start(self, timeout: float = 30.0) -> NodeProcess:
        cmd = [
            sys.executable,
            "-m",
            "bai",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            "0",
            "--sftp-port",  # a free port, so nodes never contend for 2022 (args may override)
            "0",
            *self.args,
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError("bai serve exited early:\n" + "".join(self.output))
            if m := _LISTEN_RE.search(line):
                self.endpoint = m.group(1)
            elif self.endpoint and (m := _SFTP_RE.search(line)):
                # The SFTP line ends the node's announcement.
                if m.group(2):
                    self.sftp_port, self.sftp_fingerprint = int(m.group(2)), m.group(3)
                return self
        self.stop()
        raise TimeoutError("bai serve did not start:\n" + "".join(self.output))

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.check_log()
        return code

    def check_log(self) -> None:
        """A user's mistake never reaches the node log as a traceback; neither may anything
        a test did to this node."""
        log = "".join(self.output)
        assert "Traceback" not in log, "the node logged a traceback:\n" + log[-4000:]

    def client_env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for line in (self.data_dir / "client.env").read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            values[key] = value
        return values


def run_bai(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bai", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        input=input,
        cwd=cwd,
    )


def ensure_official_client() -> Path:
    """The official CLI, installed once into its own virtualenv (it pins old aiohttp/click)."""
    exe = OFFICIAL_VENV / "bin" / "backend.ai"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(OFFICIAL_VENV)], check=True)
        subprocess.run(
            [str(OFFICIAL_VENV / "bin/pip"), "install", "-q", *OFFICIAL_PINS], check=True
        )
    return exe


def official_env(node_env: dict[str, str], cwd_home: Path) -> dict[str, str]:
    """A clean environment for the official client: only the node's credentials."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TERM")}
    return {**keep, **node_env, "HOME": str(cwd_home)}


def backend_ai(
    cli: Path,
    env: dict[str, str],
    cwd: Path,
    *args: str,
    input: str | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run the official CLI with only the node's credentials, in `cwd` (no stray .env)."""
    return subprocess.run(
        [str(cli), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=official_env(env, cwd),
        cwd=cwd,
        input=input,
    )


def sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def random_file(path: Path, size: int) -> Path:
    """Incompressible data, written in blocks (never all in memory)."""
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


def btrfs_unavailable() -> str | None:
    """Why btrfs volumes cannot be tested on this machine, or None if they can."""
    import shutil

    if os.geteuid() != 0:
        return "loop-mounting a btrfs image needs root"
    if not shutil.which("mkfs.btrfs") or not shutil.which("btrfs"):
        return "btrfs-progs is not installed (scripts/test installs it)"
    if not Path("/dev/loop-control").exists():
        return "this kernel or container has no loop devices (/dev/loop-control missing)"
    return None
