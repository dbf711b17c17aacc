"""tapserver.db: single statements outside a transaction block, pooled connections back in their default mode."""

from __future__ import annotations

from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine, text

from tapserver.config import Settings
from tapserver.db import single_statement


def test_single_statement_runs_outside_a_transaction_and_leaves_the_pool_as_it_was(
        migrated_settings: Settings) -> None:
    engine = create_engine(migrated_settings.admin_url, pool_size=1, max_overflow=0)
    try:
        with single_statement(engine) as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
            raw = conn.connection.driver_connection
            assert raw is not None and raw.info.transaction_status == TransactionStatus.IDLE  # no BEGIN sent
        with engine.connect() as conn:  # the same pooled connection, in a transaction again
            conn.execute(text("SELECT 1"))
            assert conn.connection.driver_connection is raw
            assert raw.info.transaction_status == TransactionStatus.INTRANS and not raw.autocommit
    finally:
        engine.dispose()
