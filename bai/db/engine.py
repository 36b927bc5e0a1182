"""Provides engine set-up for SQLite (one node) and PostgreSQL (several nodes), and startup
migrations that run once however many nodes start together."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"
# The key of the advisory lock nodes take around migrations (any fixed 64-bit number).
MIGRATION_LOCK = zlib.crc32(b"bai:migrations")


def create_engine(url: str) -> AsyncEngine:
    """`sqlite+aiosqlite:///PATH` or `postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB`."""
    if url.startswith("postgresql"):
        # pre_ping: a pooled connection the server dropped (restart, failover) is replaced
        # instead of failing the next request.
        return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets readers run beside the one writer; busy_timeout makes a second writer
            # wait instead of failing with "database is locked".
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

    return engine


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def is_shared(engine: AsyncEngine) -> bool:
    """True when other nodes may use this database (PostgreSQL), False for SQLite."""
    return engine.dialect.name != "sqlite"


def _upgrade(connection: Connection) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def migrate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Nodes starting together queue here; the first migrates, the others then find
            # the schema at head. DDL is transactional on PostgreSQL, so a node killed half-way
            # leaves nothing behind, and the lock ends with the transaction.
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await conn.run_sync(_upgrade)


# Held (per session, on PostgreSQL) from migration to registration while a node starts.
STARTUP_LOCK = zlib.crc32(b"bai:startup")


@contextlib.asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """One node at a time through start-up on a shared database; nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK})
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK})
            await conn.commit()
