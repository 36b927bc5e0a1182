"""Provides `SessionRunner`: what the domain needs from whatever runs sessions' sandboxes.

The session service decides what a sandbox holds (`SandboxSpec`); the runner — the
bubblewrap agent that `bai serve` attaches — makes the scratch home, runs commands in the
sandbox and removes it. The domain never builds a command line or touches a process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from bai.sessions.models import SandboxSpec

# Receives output as it comes: the stream ("stdout" or "stderr") and the bytes. Awaiting it
# is the back-pressure: it waits while nobody has fetched the output so far, so a command
# that prints without end blocks on its pipe instead of filling the node's memory.
OutputSink = Callable[[str, bytes], Awaitable[None]]


class SessionRunner(Protocol):
    async def prepare(self, spec: SandboxSpec) -> None:
        """Make the scratch home and write the dotfiles; raise a `BaiError` saying what
        cannot be done (an image root that does not exist, limits that cannot apply)."""

    async def run(self, spec: SandboxSpec, argv: Sequence[str], sink: OutputSink) -> int:
        """Run `argv` in the session's sandbox until it exits; its exit code (128+N when
        killed by signal N). Cancelling kills the sandbox."""

    async def teardown(self, spec: SandboxSpec) -> None:
        """Remove the scratch home; nothing of the session stays on the host."""
