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


LITERAL = "C:\\temp\\new''s"  # ADQL text of the literal C:\temp\new's


def test_backslash_literals_whatever_the_defaults(fresh_database: str) -> None:
    """standard_conforming_strings is on for the reader role (migrations) and in every query transaction,
    so a database whose default is off cannot turn ``'C:\\temp\\new'`` into a tab and a newline."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from tapserver.app import create_app
    from tapserver.migrate import upgrade
    from tests.conftest import settings_for

    settings = settings_for(fresh_database, workers=0)
    upgrade(settings)
    database, role = settings.admin_url.database, settings.reader_role
    owner = create_engine(settings.admin_url, poolclass=NullPool)
    reader = create_engine(settings.query_url, poolclass=NullPool)
    try:
        with owner.connect() as conn:  # the role's own setting, from the migrations
            role_settings = conn.execute(text(
                "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                "JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = :r AND d.datname = :d"),
                {"r": role, "d": database}).scalar_one()
        assert "standard_conforming_strings=on" in role_settings
        with owner.begin() as conn:  # now make every default off: the transaction's SET LOCAL must win
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" SET standard_conforming_strings = off')
            conn.exec_driver_sql(f'ALTER ROLE "{role}" IN DATABASE "{database}" SET standard_conforming_strings = off')
        with reader.connect() as conn:
            assert conn.execute(text("SHOW standard_conforming_strings")).scalar_one() == "off"
        with TestClient(create_app(settings)) as client:
            response = client.get("/tap/sync", params={"LANG": "ADQL", "FORMAT": "csv", "QUERY":
                                                       f"SELECT TOP 1 '{LITERAL}' AS p FROM tap_schema.schemas"})
        assert response.status_code == 200, response.text
        assert response.text.splitlines()[1] == "C:\\temp\\new's"
    finally:
        with owner.begin() as conn:
            conn.exec_driver_sql(f'ALTER ROLE "{role}" IN DATABASE "{database}" RESET standard_conforming_strings')
        owner.dispose()
        reader.dispose()
