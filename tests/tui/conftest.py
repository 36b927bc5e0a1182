"""Fixtures of the TUI tests: one real `bai serve` process, and a fresh user per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bai.client import BaiClient, ClientConfig
from tests.harness import NodeProcess


@pytest.fixture(scope="session")
def tui_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    node = NodeProcess(tmp_path_factory.mktemp("tui") / "bai-data").start()
    yield node
    node.stop()


def admin_config(node: NodeProcess) -> ClientConfig:
    env = node.client_env()
    return ClientConfig(
        env["BACKEND_ENDPOINT"], env["BACKEND_ACCESS_KEY"], env["BACKEND_SECRET_KEY"]
    )


async def new_user(node: NodeProcess, email: str | None = None, role: str = "user") -> ClientConfig:
    """A new user of the node (a unique e-mail unless given) and their client settings."""
    email = email or f"u{uuid.uuid4().hex[:8]}@example.org"
    async with BaiClient(admin_config(node)) as admin:
        res = await admin.post("/admin/users", json={"email": email, "role": role})
    kp = res["keypair"]
    return ClientConfig(admin_config(node).endpoint, kp["access_key"], kp["secret_key"])


@pytest.fixture
async def user(tui_node: NodeProcess) -> AsyncIterator[ClientConfig]:
    yield await new_user(tui_node)


@pytest.fixture
def local_dir(tmp_path: Path) -> Path:
    d = tmp_path / "local"
    d.mkdir()
    return d
