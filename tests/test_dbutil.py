"""The test databases: a copy of the migrated template is what `tapserver db upgrade` makes of an empty
database, and a test marked nodb cannot reach a database."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tapserver.migrate import upgrade
from tests import dbutil
from tests.conftest import NO_DATABASE_URL, settings_for
from tests.dbutil import migrated_database, throwaway_database

# Everything an upgrade writes: relations, columns, TAP_SCHEMA rows, the revision, extensions, what the reader
# role may read and run, and its settings in this database (kept by PostgreSQL outside the database).
_STATE = """
SELECT 'rel:' || n.nspname || '.' || c.relname || ':' || c.relkind::text || ':'
       || has_table_privilege(:role, c.oid, 'SELECT')::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL SELECT 'col:' || table_name || '.' || column_name || ':' || datatype || ':' || coalesce(ucd, '')
  FROM tap_schema.columns
UNION ALL SELECT 'tab:' || table_name || ':' || coalesce(description, '') FROM tap_schema.tables
UNION ALL SELECT 'ver:' || version_num FROM alembic_version
UNION ALL SELECT 'ext:' || extname FROM pg_extension
UNION ALL SELECT 'schema:' || nspname || ':' || has_schema_privilege(:role, oid, 'USAGE')::text FROM pg_namespace
UNION ALL SELECT 'fn:' || p.oid::regprocedure::text FROM pg_proc p
 WHERE p.proname IN ('pg_sleep', 'set_config', 'pg_notify') AND has_function_privilege(:role, p.oid, 'EXECUTE')
UNION ALL SELECT 'setting:' || unnest(s.setconfig) FROM pg_db_role_setting s
  JOIN pg_database d ON d.oid = s.setdatabase JOIN pg_roles r ON r.oid = s.setrole
 WHERE d.datname = current_database() AND r.rolname = :role
UNION ALL SELECT 'connect:' || has_database_privilege(:role, current_database(), 'CONNECT')::text
"""


def _state(url: str) -> set[str]:
    settings = settings_for(url)
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = {r[0] for r in conn.execute(text(_STATE), {"role": settings.reader_role})}
    engine.dispose()
    return rows


def test_a_copy_of_the_template_is_a_migrated_database(fresh_database: str, migrated_database_url: str) -> None:
    upgrade(settings_for(fresh_database))
    migrated, copied = _state(fresh_database), _state(migrated_database_url)
    assert any(r.startswith("setting:default_transaction_read_only=on") for r in copied)
    assert any(r.startswith("rel:ivoa.obscore:r:true") for r in copied)
    assert migrated == copied, (migrated - copied, copied - migrated)


def test_upgrade_of_a_copy_changes_nothing(migrated_database_url: str) -> None:
    report = upgrade(settings_for(migrated_database_url))
    assert not report.changed, report


def test_the_reader_role_is_read_only_in_a_copy(migrated_database_url: str) -> None:
    engine = create_engine(settings_for(migrated_database_url).query_url, poolclass=NullPool)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW default_transaction_read_only")).scalar_one() == "on"
    engine.dispose()


@pytest.mark.nodb
def test_a_nodb_test_reaches_no_database() -> None:
    assert os.environ["TAPSERVER_DATABASE_URL"] == NO_DATABASE_URL
    with pytest.raises(RuntimeError, match="marked nodb"), throwaway_database():
        pass
    with pytest.raises(RuntimeError, match="marked nodb"), migrated_database():
        pass


def test_the_dropper_drops_every_database_handed_over_and_reports_a_failed_drop() -> None:
    """Drops handed over together go out together (one batch); one that fails leaves the others done."""
    dropper = dbutil._Dropper()
    names = [dbutil._unique("tapserver_dropper") for _ in range(3)]
    for name in names:
        dbutil._create(name)
    for name in [names[0], 'no"such', *names[1:]]:  # the quote breaks the statement: that drop fails
        dropper.drop(name)
    errors = dropper.wait()
    assert len(errors) == 1 and errors[0].startswith('no"such: '), errors
    with dbutil._maintenance() as conn:
        left = conn.execute(text("SELECT datname FROM pg_database WHERE datname = ANY(:names)"), {"names": names})
        assert left.all() == []
    assert dropper.wait() == []
