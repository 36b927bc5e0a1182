"""Provides `NodeServices`: the domain services one node process holds, built at startup."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bai.accounts import AccountService
from bai.config import NodeConfig
from bai.hosts import HostService
from bai.throttle import FailureThrottle


@dataclass
class NodeServices:
    config: NodeConfig
    engine: AsyncEngine
    accounts: AccountService
    hosts: HostService
    throttle: FailureThrottle

    async def close(self) -> None:
        await self.engine.dispose()
