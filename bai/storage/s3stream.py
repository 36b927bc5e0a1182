"""Provides `prefetched`: an S3 object's body read by a thread of its own, ahead of the reader.

Reading each chunk in a worker thread and then sending it serialises the two halves of a
download: while the node sends one chunk to its client, nobody reads the next from S3. A
dedicated thread per stream keeps reading while the event loop sends, a few chunks ahead
(bounded, so a slow client holds at most PREFETCH chunks in memory). It is a thread of its
own, not one of the shared pool's few workers, so long downloads never starve the node's
other S3 calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from bai.storage.s3client import translate

PREFETCH = 4  # chunks read ahead of the sender


async def prefetched(
    resp: Any, chunk: int, what: str, release: Callable[[Any], None]
) -> AsyncIterator[bytes]:
    """The body of the urllib3 response `resp` in chunks of up to `chunk` bytes; S3 and
    network errors come out as the project's errors naming `what`. `release` runs once the
    reader is done, however it ends."""
    loop = asyncio.get_running_loop()
    out: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
    slots = threading.Semaphore(PREFETCH)
    stop = threading.Event()

    def deliver(item: bytes | BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is reading
            loop.call_soon_threadsafe(out.put_nowait, item)

    def produce() -> None:
        try:
            for data in resp.stream(chunk):
                while not slots.acquire(timeout=0.5):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                deliver(data)
            deliver(None)
        except BaseException as e:  # handed to the reader, who raises it in its own terms
            deliver(e)
        finally:
            # The response is closed by the thread that reads it: closing a socket under a
            # reader in another thread does not wake it.
            with contextlib.suppress(Exception):
                release(resp)

    threading.Thread(target=produce, name="bai-s3-read", daemon=True).start()
    try:
        while True:
            item = await out.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise translate(item, what) from None
            slots.release()
            yield item
    finally:
        stop.set()
