"""Provides the agent: compute sessions in bubblewrap sandboxes and their folder mounts.

`bai serve` creates a `BwrapRunner` and hands it to the node's session service; the domain
(`bai.sessions`) decides what a sandbox holds, the agent builds and runs it.
"""

from bai.agent.runner import BwrapRunner

__all__ = ["BwrapRunner"]
