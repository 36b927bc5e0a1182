"""Provides `NodeServices`: the domain services one node process holds, built at startup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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

log = logging.getLogger("bai.node")
HOUSEKEEPING_INTERVAL = 3600.0


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

    _housekeeping: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.tasks.start()
        await self.usage.start()
        self._housekeeping = asyncio.create_task(self._housekeep(), name="bai-housekeeping")

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
        await self.usage.stop()
        await self.tasks.stop()

    async def _housekeep(self) -> None:
        while True:
            try:
                dropped = await self.transfers.cleanup_expired()
                if dropped:
                    log.info("dropped %d expired upload(s)", dropped)
            except Exception:  # housekeeping must never stop the node
                log.exception("housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)

    async def close(self) -> None:
        await self.engine.dispose()
