"""Approximate row counts of the published tables (VODataService ``nrows``), for /tap/tables and /tables.

Small tables are counted exactly (``count(*)`` under a short statement timeout); larger ones, where counting
would scan megabytes, take PostgreSQL's planner estimate ``pg_class.reltuples`` (maintained by VACUUM and
ANALYZE; -1 until the table was first analysed, in which case no count is given). Views have no count.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

from tapserver.catalog.model import Table

#: Tables up to this many bytes on disk are counted exactly (a few milliseconds each).
EXACT_COUNT_BYTES = 8 * 1024 * 1024
_TIMEOUT = "2s"
_SIZES = text(
    "SELECT n.nspname, c.relname, c.reltuples, pg_relation_size(c.oid) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(:schemas)"
)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def row_counts(conn: Connection, tables: Iterable[Table]) -> dict[str, int]:
    """Qualified table name -> number of rows (exact for small tables, the planner's estimate otherwise)."""
    wanted = {(t.schema, t.name): t.qualified for t in tables if t.table_type == "table"}
    counts: dict[str, int] = {}
    with conn.begin():
        conn.execute(text(f"SET LOCAL statement_timeout = '{_TIMEOUT}'"))
        rows = conn.execute(_SIZES, {"schemas": sorted({schema for schema, _ in wanted})}).all()
        for schema, name, estimate, size in rows:
            qualified = wanted.get((schema, name))
            if qualified is None:
                continue
            if size <= EXACT_COUNT_BYTES:
                counts[qualified] = int(conn.execute(
                    text(f"SELECT count(*) FROM {_quoted(schema)}.{_quoted(name)}")).scalar_one())
            elif estimate >= 0:
                counts[qualified] = int(estimate)
    return counts
