"""`tapserver db upgrade`: idempotence, data preservation, and the database matching the catalog."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from tapserver.catalog import declared_catalog
from tapserver.config import Settings
from tapserver.migrate import upgrade
from tests.conftest import settings_for

_SNAPSHOT = """
SELECT 'col:' || table_name || '.' || column_name || ':' || xmin::text FROM tap_schema.columns
UNION ALL SELECT 'tab:' || table_name || ':' || xmin::text FROM tap_schema.tables
UNION ALL SELECT 'key:' || key_id || ':' || xmin::text FROM tap_schema.keys
UNION ALL SELECT 'rel:' || n.nspname || '.' || c.relname || ':' || c.relkind::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('ivoa', 'obsconfig', 'provenance', 'tap_schema', 'datalink', 'ingest', 'uws')
UNION ALL SELECT 'ver:' || version_num FROM alembic_version
"""


def _snapshot(url: str) -> set[str]:
    engine = create_engine(settings_for(url).admin_url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = {r[0] for r in conn.execute(text(_SNAPSHOT))}
    engine.dispose()
    return rows


def test_second_upgrade_changes_nothing(fresh_database: str) -> None:
    settings = settings_for(fresh_database)
    first = upgrade(settings)
    assert first.changed and first.migrations[0] == "0001" and first.tap_schema_written
    before = _snapshot(fresh_database)
    second = upgrade(settings)
    assert not second.changed, second
    assert _snapshot(fresh_database) == before


def test_upgrade_keeps_data(fresh_database: str) -> None:
    settings = settings_for(fresh_database)
    upgrade(settings)
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO ivoa.obscore (obs_publisher_did, obs_collection, obs_id, calib_level) "
            "VALUES ('ivo://x/y?1', 'c', '1', 2)"
        ))
        conn.execute(text("DELETE FROM tap_schema.columns WHERE table_name = 'ivoa.obscore' AND column_name = 's_ra'"))
    report = upgrade(settings)
    assert report.tap_schema_written  # the damaged TAP_SCHEMA was repaired
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ivoa.obscore")).scalar_one() == 1
        assert conn.execute(text(
            "SELECT count(*) FROM tap_schema.columns WHERE table_name = 'ivoa.obscore' AND column_name = 's_ra'"
        )).scalar_one() == 1
    engine.dispose()


def test_database_matches_catalog(admin_engine: Engine) -> None:
    """Every declared column exists with the declared SQL type and nullability (migrations vs catalog)."""
    with admin_engine.connect() as conn:
        actual = {
            (r[0], r[1]): (r[2], r[3])
            for r in conn.execute(text(
                "SELECT n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, a.atttypmod), "
                "NOT a.attnotnull FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind = 'r' "
                "AND n.nspname IN ('ivoa', 'obsconfig', 'provenance', 'tap_schema')"
            ))
        }
    declared = {
        (t.qualified, c.name): (c.sql_type, c.nullable) for t in declared_catalog() for c in t.columns
    }
    assert declared == actual


@pytest.mark.parametrize("table", [t.qualified for t in declared_catalog()])
def test_every_declared_table_is_published(admin_engine: Engine, table: str) -> None:
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT 1 FROM tap_schema.tables WHERE table_name = :t"), {"t": table}).first()


def test_an_upgrade_uses_one_connection(migrated_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check, the migrations, TAP_SCHEMA and the grants share one connection (each new connection starts a
    server process)."""
    import tapserver.migrate as migrate

    connects: list[object] = []
    made = migrate.admin_engine

    def counted(settings: Settings) -> Engine:
        engine = made(settings)
        event.listen(engine, "connect", lambda dbapi_connection, record: connects.append(dbapi_connection))
        return engine

    monkeypatch.setattr(migrate, "admin_engine", counted)
    report = upgrade(settings_for(migrated_database_url))
    assert not report.changed, report
    assert len(connects) == 1
