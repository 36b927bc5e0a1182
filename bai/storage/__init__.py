"""Provides storage volumes: one class per backend behind one interface."""

from bai.storage.base import Capacity, Volume
from bai.storage.registry import open_volumes

__all__ = ["Capacity", "Volume", "open_volumes"]
