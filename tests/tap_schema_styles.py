"""TAP_SCHEMA written in the other common styles, as other tools and operators write it.

:func:`restyle` turns a migrated database's TAP_SCHEMA into that style: the metadata schema listed as
``TAP_SCHEMA`` (upper case, as the TAP specification's examples; the relations stay ``tap_schema.*``),
and an operator's schema with mixed-case PostgreSQL names listed delimited, ``"CamelSchema"."CamelTable"``,
with delimited mixed-case columns and one regular column listed in upper case (``PLAIN`` for the column
``plain``). Then it applies the reader role's grants as ``db upgrade`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from tapserver.config import Settings
from tapserver.migrate import apply_grants
from tests.conftest import settings_for
from tests.dbutil import migrated_database

CAMEL_ROWS = [(1, 1.5, "Ångström"), (2, -2.25, "B"), (3, None, None)]

_COPIES = [
    "INSERT INTO tap_schema.schemas (schema_name, utype, description, schema_index) "
    "SELECT 'TAP_SCHEMA', utype, description, schema_index FROM tap_schema.schemas WHERE schema_name = 'tap_schema'",
    "INSERT INTO tap_schema.tables (schema_name, table_name, table_type, utype, description, table_index) "
    "SELECT 'TAP_SCHEMA', 'TAP_SCHEMA.' || substr(table_name, 12), table_type, utype, description, table_index "
    "FROM tap_schema.tables WHERE schema_name = 'tap_schema'",
    'INSERT INTO tap_schema.columns (table_name, column_name, datatype, arraysize, xtype, "size", description, '
    "utype, unit, ucd, indexed, principal, std, column_index) "
    "SELECT 'TAP_SCHEMA.' || substr(table_name, 12), column_name, datatype, arraysize, xtype, \"size\", "
    "description, utype, unit, ucd, indexed, principal, std, column_index FROM tap_schema.columns "
    "WHERE table_name LIKE 'tap\\_schema.%'",
    "INSERT INTO tap_schema.keys (key_id, from_table, target_table, description, utype) "
    "SELECT key_id || '_upper', 'TAP_SCHEMA.' || substr(from_table, 12), 'TAP_SCHEMA.' || substr(target_table, 12), "
    "description, utype FROM tap_schema.keys WHERE from_table LIKE 'tap\\_schema.%'",
    "INSERT INTO tap_schema.key_columns (key_id, from_column, target_column) "
    "SELECT key_id || '_upper', from_column, target_column FROM tap_schema.key_columns "
    "WHERE key_id IN (SELECT key_id FROM tap_schema.keys WHERE from_table LIKE 'tap\\_schema.%')",
    "DELETE FROM tap_schema.schemas WHERE schema_name = 'tap_schema'",  # cascades to the old rows
]

_CAMEL = [
    'CREATE SCHEMA "CamelSchema"',
    'CREATE TABLE "CamelSchema"."CamelTable" ("MixedCase" integer NOT NULL, plain double precision, "Name" text)',
    "INSERT INTO tap_schema.schemas (schema_name, description, schema_index) "
    "VALUES ('\"CamelSchema\"', 'An operator''s schema with a mixed-case name', 10)",
    "INSERT INTO tap_schema.tables (schema_name, table_name, table_type, description, table_index) "
    "VALUES ('\"CamelSchema\"', '\"CamelSchema\".\"CamelTable\"', 'table', 'A table with mixed-case names', 100)",
    'INSERT INTO tap_schema.columns (table_name, column_name, datatype, arraysize, description, unit, ucd, '
    "indexed, principal, std, column_index) VALUES "
    "('\"CamelSchema\".\"CamelTable\"', '\"MixedCase\"', 'int', NULL, 'A delimited mixed-case column', NULL, "
    "'meta.id', 0, 1, 0, 1), "
    "('\"CamelSchema\".\"CamelTable\"', 'PLAIN', 'double', NULL, 'A regular column listed in upper case', 'deg', "
    "'pos.eq.ra', 0, 1, 0, 2), "
    "('\"CamelSchema\".\"CamelTable\"', '\"Name\"', 'unicodeChar', '*', 'A delimited text column', NULL, "
    "'meta.id', 0, 1, 0, 3)",
]


def restyle(conn: Connection, settings: Settings) -> None:
    """Rewrite TAP_SCHEMA in the other styles, add the mixed-case table with its rows, apply the grants."""
    for statement in _COPIES + _CAMEL:
        conn.execute(text(statement))
    conn.execute(text('INSERT INTO "CamelSchema"."CamelTable" VALUES (:a, :b, :c)'),
                 [{"a": a, "b": b, "c": c} for a, b, c in CAMEL_ROWS])
    apply_grants(conn, settings)


@contextmanager
def styled_database(prefix: str, data_dir: Path) -> Iterator[Settings]:
    """A migrated throwaway database whose TAP_SCHEMA :func:`restyle` rewrote; its settings."""
    with migrated_database(prefix) as url:
        settings = settings_for(url.render_as_string(hide_password=False), workers=0, data_dir=data_dir)
        engine = create_engine(settings.admin_url, poolclass=NullPool)
        with engine.begin() as conn:
            restyle(conn, settings)
        engine.dispose()
        yield settings
