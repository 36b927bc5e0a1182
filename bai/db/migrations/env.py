"""Alembic environment: always run on a connection handed in by `bai.db.engine.migrate`."""

from __future__ import annotations

from alembic import context

from bai.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("bai migrations run through bai.db.engine.migrate(), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
)
with context.begin_transaction():
    context.run_migrations()
