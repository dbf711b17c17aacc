"""The role that runs user ADQL: reads published tables only, writes nothing, cannot sleep or reconfigure."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tapserver.config import Settings

FORBIDDEN = [
    "INSERT INTO ivoa.obscore (obs_publisher_did, obs_collection, obs_id, calib_level) VALUES ('a', 'b', 'c', 1)",
    "UPDATE tap_schema.columns SET unit = 'm'",
    "DELETE FROM provenance.entity",
    "TRUNCATE ivoa.obscore",
    "CREATE TABLE ivoa.evil (x int)",
    "DROP TABLE ivoa.obscore",
    "SELECT * FROM uws.job",
    "SELECT * FROM uws.result",
    "SELECT * FROM datalink.product",
    "SELECT * FROM ingest.source_file",
    "SELECT * FROM public.alembic_version",
    "SELECT pg_sleep(0.01)",
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT pg_terminate_backend(1)",
    "ALTER ROLE tapserver_reader SET statement_timeout = 0",
    "SELECT pg_read_file('/etc/passwd')",
    "COPY ivoa.obscore TO '/tmp/x'",
    "CREATE SCHEMA evil",
]


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_reader_is_refused(reader_engine: Engine, statement: str) -> None:
    with reader_engine.connect() as conn, pytest.raises(DBAPIError) as info:
        conn.execute(text(statement))
    message = str(info.value.orig)
    assert "permission denied" in message or "read-only" in message or "must be" in message, message


def test_reader_reads_published_tables(reader_engine: Engine) -> None:
    with reader_engine.connect() as conn:
        for table in ("ivoa.obscore", "ivoa.obscore_hea", "obsconfig.obsconfig", "provenance.entity",
                      "tap_schema.columns"):
            conn.execute(text(f"SELECT * FROM {table} LIMIT 1")).all()


def test_reader_session_defaults(reader_engine: Engine, migrated_settings: Settings) -> None:
    with reader_engine.connect() as conn:
        assert conn.execute(text("SHOW default_transaction_read_only")).scalar_one() == "on"
        timeout = conn.execute(text("SHOW statement_timeout")).scalar_one()
    assert timeout == f"{migrated_settings.execution_duration // 60}min" or timeout.endswith(("s", "min", "h"))


def test_reader_sees_pgsphere(reader_engine: Engine) -> None:
    with reader_engine.connect() as conn:
        inside = conn.execute(text(
            "SELECT spoint(radians(83.6), radians(22.0)) <@ scircle(spoint(radians(83.6), radians(22.0)), 0.01)"
        )).scalar_one()
    assert inside is True
