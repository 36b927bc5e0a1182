"""Provides what lets several nodes share one database: the node registry and heartbeats."""

from bai.cluster.registry import NodeInfo, NodeRegistry

__all__ = ["NodeInfo", "NodeRegistry"]
