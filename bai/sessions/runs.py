"""Provides `Run`: one command running in a session, and the console it produces.

Backend.AI's execute API is a polling loop: the first call starts a run and answers with the
output so far (`continued`), later calls with the same `runId` fetch what came since, the last
answer says `finished` with the exit code. A `Run` buffers output between polls and wakes
a waiting poll as soon as anything arrives, so polls stream output with little delay.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

ConsoleItem = tuple[str, str]  # ("stdout" | "stderr", text)
# Output held for the next poll at most; past it the command waits (see `room`).
MAX_PENDING = 4 << 20


@dataclass
class Poll:
    console: list[ConsoleItem]
    finished: bool
    exit_code: int | None


@dataclass
class Run:
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    exit_code: int | None = None
    error: str | None = None
    _pending: list[ConsoleItem] = field(default_factory=list)
    _pending_size: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _drained: asyncio.Event = field(default_factory=asyncio.Event)
    _decoders: dict[str, codecs.IncrementalDecoder] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    @property
    def finished(self) -> bool:
        return self._task is not None and self._task.done()

    def feed(self, stream: str, data: bytes, final: bool = False) -> str:
        dec = self._decoders.get(stream)
        if dec is None:
            dec = self._decoders[stream] = codecs.getincrementaldecoder("utf-8")("replace")
        text = dec.decode(data, final)
        if text:
            self._pending.append((stream, text))  # merged at poll time: no quadratic copies
            self._pending_size += len(text)
            self._changed.set()
        return text

    async def room(self) -> None:
        """Wait while more output is held than a poll should fetch at once."""
        while self._pending_size > MAX_PENDING and not self.finished:
            self._drained.clear()
            await self._drained.wait()

    def start(self, body: Callable[[Run], Awaitable[int]]) -> None:
        async def main() -> None:
            try:
                self.exit_code = await body(self)
            except asyncio.CancelledError:
                self.exit_code = 137
                raise
            except Exception as e:
                self.error = getattr(e, "msg", None) or str(e)
                self.feed("stderr", f"bai: {self.error}\n".encode())
                self.exit_code = 127
            finally:
                for stream in list(self._decoders):
                    self.feed(stream, b"", final=True)
                self._changed.set()

        self._task = asyncio.create_task(main(), name=f"bai-run-{self.id}")

    async def poll(self, timeout: float) -> Poll:
        """Output since the last poll; waits up to `timeout` seconds for some to arrive."""
        if not self._pending and not self.finished:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)
        # Read `finished` first: a run that has finished has fed all its output already.
        done = self.finished
        out, self._pending, self._pending_size = _merged(self._pending), [], 0
        self._drained.set()
        return Poll(out, done, self.exit_code if done else None)

    async def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def _merged(items: list[ConsoleItem]) -> list[ConsoleItem]:
    """Runs of one stream as one item each."""
    out: list[ConsoleItem] = []
    parts: list[str] = []
    for stream, text in items:
        if out and out[-1][0] == stream:
            parts.append(text)
            continue
        if out:
            out[-1] = (out[-1][0], "".join(parts))
        out.append((stream, ""))
        parts = [text]
    if out:
        out[-1] = (out[-1][0], "".join(parts))
    return out
