"""Runs the real OpenSSH clients (`sftp`, `scp`, `ssh`) against a node's SFTP service.

Every run trusts exactly the node's host key (read from its data directory), offers exactly
the given private key and never prompts, so a test sees what a user would, minus questions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST_KEY_FILE = "ssh_host_ed25519_key"


def require_openssh() -> None:
    missing = [t for t in ("sftp", "scp", "ssh", "ssh-keygen") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"OpenSSH clients missing ({', '.join(missing)}); scripts/test installs them")


@dataclass(frozen=True)
class Target:
    """One node's SFTP service as a client reaches it with one key."""

    port: int
    key: Path
    known_hosts: Path
    host: str = "127.0.0.1"
    user: str = "work"
    control: Path | None = None  # a ControlMaster socket: runs share one connection

    def with_key(self, key: Path) -> Target:
        return Target(self.port, key, self.known_hosts, self.host, self.user)

    def options(self) -> list[str]:
        opts = [
            "-i",
            str(self.key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "ConnectTimeout=20",
        ]
        if self.control is not None:
            opts += [
                "-o",
                "ControlMaster=auto",
                "-o",
                f"ControlPath={self.control}",
                "-o",
                "ControlPersist=120",
            ]
        return opts

    @property
    def login(self) -> str:
        return f"{self.user}@{self.host}"


def known_hosts(data_dir: Path, port: int, where: Path) -> Path:
    """A known_hosts file holding the node's host key, as a careful user would make it."""
    res = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(data_dir / HOST_KEY_FILE)],
        capture_output=True,
        text=True,
        check=True,
    )
    where.write_text(f"[127.0.0.1]:{port} {res.stdout.strip()}\n")
    return where


def sftp(
    t: Target, *commands: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`sftp -b -`: the batch stops at the first failing command (unless prefixed `-`)."""
    return subprocess.run(
        ["sftp", *t.options(), "-P", str(t.port), "-b", "-", t.login],
        input="\n".join(commands) + "\n",
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=_env(),
    )


def scp(t: Target, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["scp", *t.options(), "-P", str(t.port), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=_env(),
    )


def ssh(t: Target, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", *t.options(), "-p", str(t.port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=_env(),
    )


def close_master(t: Target) -> None:
    if t.control is not None:
        subprocess.run(
            ["ssh", *t.options(), "-p", str(t.port), "-O", "exit", t.login],
            capture_output=True,
            timeout=30,
        )


def new_key(path: Path) -> Path:
    """A fresh ed25519 key nobody registered."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def _env() -> dict[str, str]:
    # No agent, no user config of the machine running the tests.
    env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "SSH_AGENT_PID")}
    env["LC_ALL"] = "C"
    return env
