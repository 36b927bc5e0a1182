"""Dotfile routes and limits, and session routes without an agent, on the in-process app."""

from __future__ import annotations

import pytest

from bai.client import DotfilesApi, SessionsApi
from bai.errors import (
    BaiError,
    Conflict,
    InvalidRequest,
    NotFound,
    QuotaExceeded,
    ServiceUnavailable,
)
from tests.conftest import InProcessNode


async def test_dotfile_crud_and_limits(node: InProcessNode) -> None:
    bob = await node.new_user("bob@example.com")
    api = DotfilesApi(bob)
    await api.create(".vimrc", "set nu\n", "644")
    assert [(d.path, d.permission, d.data) for d in await api.list()] == [
        (".vimrc", "644", "set nu\n")
    ]
    with pytest.raises(Conflict):
        await api.create(".vimrc", "x", "644")
    await api.update(".vimrc", "set nonu\n", "600")
    assert (await api.get(".vimrc")).data == "set nonu\n"
    for bad_path in (".ssh/authorized_keys", ".ssh", "/etc/passwd", "../x", ".local"):
        with pytest.raises(InvalidRequest):
            await api.create(bad_path, "x", "644")
    with pytest.raises(InvalidRequest, match="octal"):
        await api.create(".x", "x", "999")
    with pytest.raises(QuotaExceeded, match="64 KiB"):
        await api.create(".big", "x" * (64 * 1024), "644")
    for i in range(99):
        await api.create(f".f{i}", "", "644")
    with pytest.raises(QuotaExceeded, match="100"):
        await api.create(".one-too-many", "", "644")
    # Another user sees none of bob's.
    carol = await node.new_user("carol@example.com")
    assert await DotfilesApi(carol).list() == []
    with pytest.raises(NotFound):
        await DotfilesApi(carol).get(".vimrc")
    # Project and domain dotfiles are for administrators.
    with pytest.raises(BaiError, match="not an administrator"):
        await DotfilesApi(bob, "domain").list(domain="default")
    await api.delete(".vimrc")
    with pytest.raises(NotFound):
        await api.delete(".vimrc")


async def test_sessions_need_the_agent(node: InProcessNode) -> None:
    # The in-process app has no agent attached: sessions say so instead of half-starting.
    with pytest.raises(ServiceUnavailable, match="no agent"):
        await SessionsApi(node.admin).create("python:3.11")
    assert (await SessionsApi(node.admin).list()).sessions == []
    with pytest.raises(NotFound, match="no session"):
        await SessionsApi(node.admin).info("nothing")
