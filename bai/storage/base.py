"""Provides the interface every volume backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from bai.config import VolumeConfig


@dataclass(frozen=True)
class Capacity:
    used: int
    total: int

    @property
    def percentage(self) -> float:
        return round(100.0 * self.used / self.total, 2) if self.total else 0.0


class Volume(ABC):
    backend: ClassVar[str]
    # Backend.AI's capability names: vfolder, quota, metric, fast-size, fast-scan …
    capabilities: ClassVar[frozenset[str]]

    def __init__(self, config: VolumeConfig) -> None:
        self.config = config
        self.name = config.name

    @abstractmethod
    async def init(self) -> None:
        """Prepare the volume at node start (create its root, check it is usable)."""

    @abstractmethod
    async def capacity(self) -> Capacity:
        """Bytes used and total of the storage under the volume."""
