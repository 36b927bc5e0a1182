"""Shared fixtures: the app in-process, a real node process, the official client."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from bai.client import BaiClient, ClientConfig
from bai.config import NodeConfig, parse_config
from bai.node import Node
from bai.server.http.app import create_app
from tests.asgi import same_loop_client
from tests.harness import NodeProcess, btrfs_unavailable, ensure_official_client
from tests.pgserver import PgServer, postgres_unavailable
from tests.s3server import S3Server

TEST_TOML = """
[auth]
throttle_failures = 8
throttle_window = 1.5
"""


@dataclass
class InProcessNode:
    app: Litestar
    http: httpx.AsyncClient
    config: NodeConfig
    admin: BaiClient
    node: Node

    def client(self, access_key: str, secret_key: str) -> BaiClient:
        return BaiClient(
            ClientConfig(str(self.http.base_url).rstrip("/"), access_key, secret_key),
            http=self.http,
        )

    async def new_user(self, email: str, role: str = "user") -> BaiClient:
        res = await self.admin.post("/admin/users", json={"email": email, "role": role})
        kp = res["keypair"]
        return self.client(kp["access_key"], kp["secret_key"])


def make_config(tmp_path: Path, extra: str = "") -> NodeConfig:
    return parse_config(TEST_TOML + extra, source="test.toml", data_dir=tmp_path / "data")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_databases: run the test on SQLite and on a real PostgreSQL"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_databases` run once on SQLite and once on PostgreSQL; the others
    on SQLite only (the PostgreSQL runs are a chosen subset, to keep the suite's time).
    BAI_TEST_DATABASE=postgresql runs every in-process node test on PostgreSQL instead."""
    if "database" not in metafunc.fixturenames:
        return
    if os.environ.get("BAI_TEST_DATABASE") == "postgresql":
        metafunc.parametrize("database", ["postgresql"], indirect=True)
    elif metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """The `[database]` block of a test node: empty (SQLite) or a fresh PostgreSQL database."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return ""
    pg: PgServer = request.getfixturevalue("pg_server")
    return f'[database]\nurl = "{pg.new_database()}"\n'


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One throwaway PostgreSQL cluster for the whole run; tests get databases of their own."""
    why = postgres_unavailable()
    if why:
        pytest.skip(f"POSTGRESQL TESTS NOT RUN: {why}")
    server = PgServer().start()
    try:
        server.make_template()
        yield server
    finally:
        server.stop()


@pytest.fixture
async def node(tmp_path: Path, database: str) -> AsyncIterator[InProcessNode]:
    async with in_process_node(make_config(tmp_path, database)) as n:
        yield n


class _Tracebacks(logging.Handler):
    """Collects log records that carry a traceback: a user's mistake must never log one."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@contextlib.asynccontextmanager
async def in_process_node(
    config: NodeConfig, *, allow_tracebacks: bool = False
) -> AsyncIterator[InProcessNode]:
    """The Litestar app of a running node with `config`, in this process, with its admin
    client. The node's log must hold no traceback when it stops."""
    tracebacks = _Tracebacks()
    logging.getLogger("bai").addHandler(tracebacks)
    try:
        async with Node(config) as node:
            app = create_app(node)
            kp = node.bootstrap.admin_keypair
            assert kp is not None
            async with same_loop_client(app, "http://testserver.local") as http:
                admin = BaiClient(
                    ClientConfig("http://testserver.local", kp.access_key, kp.secret_key),
                    http=http,
                )
                yield InProcessNode(app, http, config, admin, node)
    finally:
        logging.getLogger("bai").removeHandler(tracebacks)
    if not allow_tracebacks:
        assert not tracebacks.records, "the node logged a traceback: " + "; ".join(
            f"{r.name}: {r.getMessage()}" for r in tracebacks.records
        )


@pytest.fixture(scope="session")
def live_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """One real `bai serve` process shared by the tests that only read or add records."""
    node = NodeProcess(tmp_path_factory.mktemp("live") / "bai-data").start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def official_cli() -> Path:
    return ensure_official_client()


@pytest.fixture(scope="session")
def btrfs_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A freshly made btrfs filesystem on a loop-mounted image file, removed afterwards."""
    why = btrfs_unavailable()
    if why:
        pytest.skip(f"BTRFS TESTS NOT RUN: {why}")
    base = tmp_path_factory.mktemp("btrfs")
    image, mnt = base / "volume.img", base / "mnt"
    mnt.mkdir()
    with image.open("wb") as f:
        f.truncate(2 << 30)
    subprocess.run(["mkfs.btrfs", "-q", str(image)], check=True, capture_output=True)
    res = subprocess.run(
        ["mount", "-o", "loop", str(image), str(mnt)], capture_output=True, text=True
    )
    if res.returncode != 0:
        pytest.skip(f"BTRFS TESTS NOT RUN: loop mount failed: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        image.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 server process for the whole run (tests use buckets of their own)."""
    server = S3Server().start()
    yield server
    server.stop()
