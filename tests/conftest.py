"""Shared fixtures: the app in-process, a real node process, the official client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bai.client import BaiClient, ClientConfig
from bai.config import NodeConfig, parse_config
from bai.server.app import create_app
from bai.server.node import start_services
from tests.harness import NodeProcess, ensure_official_client

TEST_TOML = """
[auth]
throttle_failures = 8
throttle_window = 1.5
"""


@dataclass
class InProcessNode:
    app: Litestar
    http: AsyncTestClient[Litestar]
    config: NodeConfig
    admin: BaiClient

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


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[InProcessNode]:
    config = make_config(tmp_path)
    started = await start_services(config)
    app = create_app(started.services)
    kp = started.bootstrap.admin_keypair
    assert kp is not None
    try:
        async with AsyncTestClient(app=app, base_url="http://testserver.local") as http:
            admin = BaiClient(
                ClientConfig("http://testserver.local", kp.access_key, kp.secret_key), http=http
            )
            yield InProcessNode(app, http, config, admin)
    finally:
        await started.services.close()


@pytest.fixture(scope="session")
def live_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """One real `bai serve` process shared by the tests that only read or add records."""
    node = NodeProcess(tmp_path_factory.mktemp("live") / "bai-data").start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def official_cli() -> Path:
    return ensure_official_client()
