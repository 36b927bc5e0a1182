"""Provides `NodeServices`: the domain services one node process holds, built at startup."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bai.accounts import AccountService
from bai.config import NodeConfig
from bai.folders.files import FileService
from bai.folders.quota import QuotaService
from bai.folders.service import FolderService
from bai.folders.status import StatusService
from bai.folders.tasks import TaskRunner
from bai.folders.transfers import TransferService
from bai.folders.usage import UsageService
from bai.hosts import HostService
from bai.throttle import FailureThrottle


@dataclass
class NodeServices:
    config: NodeConfig
    engine: AsyncEngine
    accounts: AccountService
    hosts: HostService
    throttle: FailureThrottle
    tasks: TaskRunner
    folders: FolderService
    files: FileService
    transfers: TransferService
    quota: QuotaService
    usage: UsageService
    status: StatusService

    async def start(self) -> None:
        await self.tasks.start()
        await self.usage.start()

    async def stop(self) -> None:
        await self.usage.stop()
        await self.tasks.stop()

    async def close(self) -> None:
        await self.engine.dispose()
