"""Provides the reconcile scan's tree walk: files and bytes below a directory, fast.

Top-level subtrees are walked in parallel by a pool of processes (one per core): the work per
entry is Python, so threads would share one core. The walk is bounded by a deadline.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

from bai.storage.base import ScanResult

PARALLEL_MIN_SUBDIRS = 16


def _walk_sum(path: str, deadline: float | None) -> tuple[int, int, bool]:
    """Files and bytes below `path`, depth-first with scandir; stops at `deadline`."""
    files = size = 0
    stack = [path]
    while stack:
        if deadline is not None and time.monotonic() > deadline:
            return files, size, False
        try:
            with os.scandir(stack.pop()) as it:
                for e in it:
                    try:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        else:
                            files += 1
                            size += e.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue  # removed while we looked, or unreadable
        except OSError:
            continue  # gone, or a directory nobody may read: the rest still counts
    return files, size, True


_pool: ProcessPoolExecutor | None = None


def _scan_pool() -> ProcessPoolExecutor:
    # Processes, not threads: the per-entry work is Python, so threads would share one core.
    # forkserver: forking a process that runs threads and an event loop is unsafe.
    global _pool
    if _pool is None:
        ctx = multiprocessing.get_context("forkserver")
        _pool = ProcessPoolExecutor(max_workers=os.cpu_count() or 2, mp_context=ctx)
    return _pool


def scan_tree(root: str, deadline: float | None = None) -> ScanResult:
    """Files and bytes below `root`. Top-level subtrees are walked in parallel by a pool of
    processes (one per core); the walk stops at `deadline` (a `time.monotonic()` value)."""
    files = size = 0
    subdirs: list[str] = []
    with os.scandir(root) as it:
        for e in it:
            if e.is_dir(follow_symlinks=False):
                subdirs.append(e.path)
            else:
                files += 1
                size += e.stat(follow_symlinks=False).st_size
    complete = True
    if len(subdirs) < PARALLEL_MIN_SUBDIRS or (os.cpu_count() or 1) < 2:
        parts = [_walk_sum(d, deadline) for d in subdirs]
    else:
        chunk = max(1, len(subdirs) // ((os.cpu_count() or 2) * 8))
        parts = list(
            _scan_pool().map(_walk_sum, subdirs, [deadline] * len(subdirs), chunksize=chunk)
        )
    for f, b, done in parts:
        files += f
        size += b
        complete = complete and done
    return ScanResult(files, size, complete)
