"""TAP_SCHEMA storage: write the declared catalog into it, read the published catalog back, fingerprint it,
and count the rows of the published tables.

Row counts (VODataService ``nrows``): small tables are counted exactly (``count(*)`` under a short statement
timeout); larger ones, where counting would scan megabytes, take PostgreSQL's planner estimate
``pg_class.reltuples`` (maintained by VACUUM and ANALYZE; -1 until the table was first analysed, in which
case no count is given). Views have no count.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text

from tapserver.catalog.identifiers import adql_name, database_name, plain_name, split_qualified
from tapserver.catalog.model import Catalog, Column, ForeignKey, Schema, Table

Row = tuple[Any, ...]

# A cheap fingerprint of TAP_SCHEMA: any insert, update or delete changes it.
_FINGERPRINT = text(
    "SELECT (SELECT count(*) || ':' || coalesce(sum(hashtext(c::text)), 0) FROM tap_schema.columns c) || '/' || "
    "(SELECT count(*) || ':' || coalesce(sum(hashtext(t::text)), 0) FROM tap_schema.tables t) || '/' || "
    "(SELECT count(*) || ':' || coalesce(sum(hashtext(k::text)), 0) FROM tap_schema.key_columns k)"
)

#: Tables up to this many bytes on disk are counted exactly (a few milliseconds each).
EXACT_COUNT_BYTES = 8 * 1024 * 1024
_COUNT_TIMEOUT = "2s"
_SIZES = text(
    "SELECT n.nspname, c.relname, c.reltuples, pg_relation_size(c.oid) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(:schemas)"
)


def _schema_rows(schemas: Iterable[Schema]) -> dict[str, list[Row]]:
    rows: dict[str, list[Row]] = {"schemas": [], "tables": [], "columns": [], "keys": [], "key_columns": []}
    table_index = 0
    for schema_index, schema in enumerate(schemas):
        rows["schemas"].append((schema.name, schema.utype, schema.description, schema_index))
        for table in schema.tables:
            table_index += 1
            rows["tables"].append(
                (schema.name, table.qualified, table.table_type, table.utype, table.description, table_index)
            )
            for column_index, c in enumerate(table.columns):
                rows["columns"].append((
                    table.qualified, adql_name(c.name), c.datatype, c.arraysize, c.xtype, c.size, c.description,
                    c.utype, c.unit, c.ucd, int(c.indexed), int(c.principal), int(c.std), column_index,
                ))
            for fk in table.foreign_keys:
                rows["keys"].append((fk.key_id, fk.from_table, fk.target_table, fk.description, fk.utype))
                rows["key_columns"].extend((fk.key_id, adql_name(f), adql_name(t)) for f, t in fk.columns)
    return rows


_COLUMNS = {
    "schemas": "schema_name, utype, description, schema_index",
    "tables": "schema_name, table_name, table_type, utype, description, table_index",
    "columns": 'table_name, column_name, datatype, arraysize, xtype, "size", description, utype, unit, ucd, '
    "indexed, principal, std, column_index",
    "keys": "key_id, from_table, target_table, description, utype",
    "key_columns": "key_id, from_column, target_column",
}

def _database_name_sql(column: str) -> str:
    """SQL for the PostgreSQL name of a name listed in ``column`` (identifiers.database_name in SQL)."""
    return (f"(CASE WHEN {column} LIKE '\"%\"' THEN replace(substr({column}, 2, length({column}) - 2), "
            f"'\"\"', '\"') ELSE lower({column}) END)")


# Rows listing one of our schemas in another style (TAP_SCHEMA, "ivoa") are ours too: replaced, not duplicated.
_SCHEMA = f"{_database_name_sql('schema_name')} = ANY(:schemas)"
# Which rows of each TAP_SCHEMA table belong to a given set of schemas (operators' own rows are kept).
_OWNED = {
    "schemas": _SCHEMA,
    "tables": _SCHEMA,
    "columns": f"table_name IN (SELECT table_name FROM tap_schema.tables WHERE {_SCHEMA})",
    "keys": f"from_table IN (SELECT table_name FROM tap_schema.tables WHERE {_SCHEMA})",
    "key_columns": "key_id IN (SELECT key_id FROM tap_schema.keys WHERE from_table IN "
    f"(SELECT table_name FROM tap_schema.tables WHERE {_SCHEMA}))",
}


def write_tap_schema(conn: Connection, schemas: Iterable[Schema]) -> bool:
    """Make TAP_SCHEMA describe ``schemas`` exactly; return False when it already did (nothing written)."""
    schemas = list(schemas)
    names = [s.name for s in schemas]
    wanted = _schema_rows(schemas)
    current = {
        t: sorted(
            (tuple(r) for r in conn.execute(
                text(f"SELECT {cols} FROM tap_schema.{t} WHERE {_OWNED[t]}"), {"schemas": names})),
            key=repr,
        )
        for t, cols in _COLUMNS.items()
    }
    if all(current[t] == sorted(wanted[t], key=repr) for t in _COLUMNS):
        return False
    for t in reversed(list(_COLUMNS)):
        conn.execute(text(f"DELETE FROM tap_schema.{t} WHERE {_OWNED[t]}"), {"schemas": names})
    for t, cols in _COLUMNS.items():
        if not wanted[t]:
            continue
        params = ", ".join(f":p{i}" for i in range(len(wanted[t][0])))
        conn.execute(
            text(f"INSERT INTO tap_schema.{t} ({cols}) VALUES ({params})"),
            [{f"p{i}": v for i, v in enumerate(row)} for row in wanted[t]],
        )
    return True


_LOAD_COLUMNS = """
SELECT c.table_name, c.column_name, c.datatype, c.arraysize, c.xtype, c.unit, c.ucd, c.utype,
       c.description, c.principal, c.indexed, c.std,
       (SELECT format_type(a.atttypid, a.atttypmod)
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = to_regclass(c.table_name) AND a.attname = c.plain_name
           AND NOT a.attisdropped) AS sql_type,
       (SELECT NOT a.attnotnull
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = to_regclass(c.table_name) AND a.attname = c.plain_name
           AND NOT a.attisdropped) AS nullable
  FROM (SELECT *, """ + _database_name_sql("column_name") + """ AS plain_name FROM tap_schema.columns) c
 ORDER BY c.table_name, c.column_index NULLS LAST, c.column_name
"""


def load_catalog(conn: Connection) -> Catalog:
    """Read the published catalog from TAP_SCHEMA, with each column's real PostgreSQL type."""
    columns: dict[str, list[Column]] = {}
    for r in conn.execute(text(_LOAD_COLUMNS)).mappings().all():
        listed = r["column_name"]
        name, sql_name = plain_name(listed), database_name(listed)  # differ for a regular name in upper case
        columns.setdefault(r["table_name"], []).append(Column(
            name=name, sql_name=sql_name if sql_name != name else None, sql_type=r["sql_type"] or "text",
            datatype=r["datatype"],
            arraysize=r["arraysize"], xtype=r["xtype"], unit=r["unit"], ucd=r["ucd"], utype=r["utype"],
            description=r["description"], principal=bool(r["principal"]), indexed=bool(r["indexed"]),
            std=bool(r["std"]), nullable=bool(r["nullable"]) if r["nullable"] is not None else True,
        ))
    keys: dict[str, list[ForeignKey]] = {}
    key_columns: dict[str, list[tuple[str, str]]] = {}
    for key_id, from_column, target_column in conn.execute(
        text("SELECT key_id, from_column, target_column FROM tap_schema.key_columns")
    ):
        key_columns.setdefault(key_id, []).append((plain_name(from_column), plain_name(target_column)))
    for key_id, from_table, target_table, description, utype in conn.execute(
        text("SELECT key_id, from_table, target_table, description, utype FROM tap_schema.keys ORDER BY key_id")
    ):
        keys.setdefault(from_table, []).append(
            ForeignKey(key_id, from_table, target_table, tuple(key_columns.get(key_id, ())), description, utype)
        )
    tables: dict[str, list[Table]] = {}
    for schema_name, qualified, table_type, table_utype, table_description in conn.execute(text(
        "SELECT schema_name, table_name, table_type, utype, description FROM tap_schema.tables "
        "ORDER BY table_index NULLS LAST, table_name"
    )):
        name = split_qualified(qualified)[-1]
        tables.setdefault(schema_name, []).append(Table(
            schema=schema_name, name=name, description=table_description, utype=table_utype,
            table_type=table_type,
            columns=tuple(columns.get(qualified, ())), foreign_keys=tuple(keys.get(qualified, ())),
        ))
    schemas = [
        Schema(name=name, utype=utype, description=description, tables=tuple(tables.get(name, ())))
        for name, utype, description in conn.execute(text(
            "SELECT schema_name, utype, description FROM tap_schema.schemas "
            "ORDER BY schema_index NULLS LAST, schema_name"
        ))
    ]
    return Catalog(schemas)


def tap_schema_fingerprint(conn: Connection) -> str:
    """A value that changes whenever a row of TAP_SCHEMA's columns, tables or key_columns changes."""
    return str(conn.execute(_FINGERPRINT).scalar_one())


def published_table_count(conn: Connection) -> int:
    """The number of tables TAP_SCHEMA lists (a real query on the published metadata)."""
    return int(conn.execute(text("SELECT count(*) FROM tap_schema.tables")).scalar_one())


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def row_counts(conn: Connection, tables: Iterable[Table]) -> dict[str, int]:
    """Qualified table name -> number of rows (exact for small tables, the planner's estimate otherwise)."""
    wanted = {(t.schema, t.name): t.qualified for t in tables if t.table_type == "table"}
    counts: dict[str, int] = {}
    with conn.begin():
        conn.execute(text(f"SET LOCAL statement_timeout = '{_COUNT_TIMEOUT}'"))
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
