"""Alembic environment: runs the migrations on the connection tapserver.migrate hands over."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through tapserver.migrate
    raise RuntimeError("run migrations with `tapserver db upgrade`, not the alembic command")

context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
