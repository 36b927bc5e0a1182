"""A real node with its SFTP service, users with SSH keys, and views of the volume on disk."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bai import api
from bai.client import BaiClient, ClientConfig
from bai.client.sftp import write_private_key
from tests.harness import NodeProcess, run_bai
from tests.sftp.openssh import Target, known_hosts, require_openssh

T = TypeVar("T")

# Small limits, so that bans and idle sessions happen within a test.
NODE_TOML = """
[auth]
throttle_failures = 50
[sftp]
throttle_failures = 4
throttle_window = 3
"""


@dataclass
class User:
    email: str
    env: dict[str, str]
    config: ClientConfig
    home: Path
    _key: Path | None = None

    def call(self, fn: Callable[[BaiClient], Awaitable[T]]) -> T:
        async def run() -> T:
            async with BaiClient(self.config) as c:
                return await fn(c)

        return asyncio.run(run())

    def key(self) -> Path:
        """The private key the node generated for this user (downloaded once)."""
        if self._key is None:
            self.call(lambda c: c.ssh_keypair.generate())
            secret = self.call(lambda c: c.ssh_keypair.download())
            self._key = write_private_key(self.home / "id_container", secret.ssh_private_key)
        return self._key

    def start(self, *names: str) -> api.SftpSessionStarted:
        return self.call(lambda c: c.sftp.start(list(names)))

    def stop_all(self) -> None:
        async def run(c: BaiClient) -> None:
            for s in (await c.sftp.list()).sessions:
                await c.sftp.stop(s.id)

        self.call(run)

    def folder(self, name: str, **kw: Any) -> api.FolderInfo:
        return self.call(lambda c: c.folders.create(name, **kw))


@dataclass
class SftpWorld:
    node: NodeProcess
    tmp: Path
    known_hosts: Path = field(init=False)
    names: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.known_hosts = known_hosts(
            self.node.data_dir, self.node.sftp_port, self.tmp / "known_hosts"
        )

    @property
    def admin(self) -> User:
        env = self.node.client_env()
        return self._user("admin@bai.local", env, "admin")

    def user(self, role: str = "user") -> User:
        email = f"sftp{next(self.names)}@example.com"
        env = self.node.client_env()
        res = run_bai("admin", "user", "create", email, "--role", role, "-o", "json", env=env)
        assert res.returncode == 0, res.stderr
        kp = json.loads(res.stdout)["keypair"]
        env = {
            **env,
            "BACKEND_ACCESS_KEY": kp["access_key"],
            "BACKEND_SECRET_KEY": kp["secret_key"],
        }
        return self._user(email, env, email)

    def _user(self, email: str, env: dict[str, str], slug: str) -> User:
        home = self.tmp / "users" / slug
        home.mkdir(parents=True, exist_ok=True)
        config = ClientConfig(
            env["BACKEND_ENDPOINT"], env["BACKEND_ACCESS_KEY"], env["BACKEND_SECRET_KEY"]
        )
        return User(email, env, config, home)

    def target(self, user: User, control: Path | None = None) -> Target:
        return Target(self.node.sftp_port, user.key(), self.known_hosts, control=control)

    def volume(self) -> Path:
        return self.node.data_dir / "volumes" / "local"


def snapshot(volume: Path) -> dict[str, tuple[str, int, str]]:
    """Every entry of a volume's folders: kind, size and content hash. Staged uploads count
    too: a refused write must leave nothing behind, not even half a file in staging."""
    out: dict[str, tuple[str, int, str]] = {}
    for path in sorted(volume.rglob("*")):
        rel = str(path.relative_to(volume))
        if path.is_symlink():
            out[rel] = ("link", 0, str(path.readlink()))
        elif path.is_dir():
            out[rel] = ("dir", 0, "")
        elif path.is_file():
            out[rel] = ("file", path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpWorld]:
    require_openssh()
    tmp = tmp_path_factory.mktemp("sftp")
    cfg = tmp / "node.toml"
    cfg.write_text(NODE_TOML)
    node = NodeProcess(tmp / "bai-data", args=["--config", str(cfg)]).start()
    try:
        assert node.sftp_port, "the node announced no SFTP port:\n" + "".join(node.output)
        yield SftpWorld(node, tmp)
    finally:
        node.stop()
