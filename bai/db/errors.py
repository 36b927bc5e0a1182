"""Provides the mapping of database failures to `bai.errors`, for SQLite and PostgreSQL alike,
and a retry for transactions PostgreSQL aborts under contention."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc

from bai.errors import BaiError, Conflict, InvalidRequest, ServiceUnavailable

log = logging.getLogger("bai.db")
T = TypeVar("T")

# PostgreSQL aborts one of two transactions that collide; sending it again is the cure.
RETRYABLE = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
# The database is there but cannot serve now (lock timeout, cancelled, shutting down).
BUSY = frozenset({"55P03", "57014", "57P01", "57P02", "57P03", "53300"})


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of a failure (None for SQLite and non-database errors)."""
    orig = getattr(exc, "orig", None)
    for source in (orig, getattr(orig, "__cause__", None)):
        code = getattr(source, "sqlstate", None) or getattr(source, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def database_error(exc: BaseException) -> BaiError | None:
    """The `BaiError` a request should answer with for a database failure, or None when
    `exc` is not one (or is a bug that deserves a traceback)."""
    if not isinstance(exc, sa_exc.DBAPIError | sa_exc.InterfaceError | OSError):
        return None
    code = sqlstate(exc) or ""
    if isinstance(exc, sa_exc.OperationalError) and "database is locked" in str(exc):
        # SQLite's one writer stayed busy beyond the busy timeout (a very loaded machine).
        return ServiceUnavailable("the node's database is busy; try again in a moment")
    if code in RETRYABLE or code in BUSY:
        return ServiceUnavailable("the node's database is busy; try again in a moment")
    if code == "23505" or (not code and isinstance(exc, sa_exc.IntegrityError)):
        # A unique constraint caught a race a service did not expect (two nodes at once).
        return Conflict("that record already exists (another request made it first)")
    if code.startswith("23"):
        return Conflict("the request refers to a record another request changed or removed")
    if code == "22021":  # character_not_in_repertoire: PostgreSQL text holds no NUL
        return InvalidRequest("a text value holds a NUL character, which cannot be stored")
    if code.startswith("22"):
        return InvalidRequest("a value is too long or out of range for the node's database")
    if code.startswith("08") or isinstance(exc, OSError) or _lost_connection(exc):
        return ServiceUnavailable("the node cannot reach its database; try again in a moment")
    return None


def _lost_connection(exc: BaseException) -> bool:
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


async def retrying(op: Callable[[], Awaitable[T]], attempts: int = 6) -> T:
    """Run `op` (one whole transaction) again when PostgreSQL aborted it as the loser of a
    serialization conflict or deadlock; other failures pass through at once."""
    for attempt in range(attempts):
        try:
            return await op()
        except sa_exc.DBAPIError as e:
            if sqlstate(e) not in RETRYABLE or attempt == attempts - 1:
                raise
            log.debug("transaction conflict (%s), retrying", sqlstate(e))
            await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")
