"""Running SQL as the query role and comparing results (floats approximately, rows as multisets)."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from tapserver.adql import ResultColumn

# PostgreSQL type OID -> the VOTable datatypes that may describe it
_OID_DATATYPES = {
    16: {"boolean"}, 20: {"long"}, 21: {"short"}, 23: {"int"}, 700: {"float"}, 701: {"double"},
    25: {"char", "unicodeChar"}, 1043: {"char", "unicodeChar"}, 1042: {"char", "unicodeChar"},
    1114: {"char"}, 1022: {"double"},
}


def run(conn: Connection, sql: str) -> tuple[list[tuple[Any, ...]], list[tuple[str, int]]]:
    """Rows and (name, type OID) of each column, in a transaction rolled back afterwards.

    The SQL goes to the driver without parameters: with parameters, psycopg would read the ``%`` of
    LIKE patterns as placeholders.
    """
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute(sql)
        description = [(d.name, d.type_code) for d in cursor.description]
        rows = [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()
        dbapi.rollback()
    return rows, description


def check_metadata(description: list[tuple[str, int]], columns: tuple[ResultColumn, ...]) -> None:
    """The declared FIELDs match what the database returns: names, and datatypes for the column types."""
    assert [name for name, _ in description] == [c.name for c in columns]
    for (name, oid), column in zip(description, columns, strict=True):
        assert oid in _OID_DATATYPES, f"{name}: unexpected PostgreSQL type {oid} (numeric must be cast)"
        assert column.datatype in _OID_DATATYPES[oid], f"{name}: {column.datatype} for type {oid}"
        if oid == 1114:
            assert column.xtype == "timestamp", name
        if oid == 1022:
            assert column.arraysize in ("2", "3", "*") and column.xtype in ("point", "circle", "polygon"), name
        if column.xtype == "adql:REGION":
            assert oid == 25, name


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return tuple(_normal(v) for v in value)
    if isinstance(value, str):
        return value.rstrip(" ") if value.endswith(" ") else value
    return value


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    def key(v: Any) -> tuple[int, Any]:
        if v is None:
            return (0, "")
        if isinstance(v, float):
            return (1, float(f"{v:.6g}"))
        if isinstance(v, int):
            return (1, float(v))
        if isinstance(v, tuple):
            return (2, tuple(key(x) for x in v))
        if isinstance(v, datetime.datetime):
            return (3, v.isoformat())
        return (4, str(v))
    return tuple(key(v) for v in row)


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def assert_same_rows(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], ordered: bool) -> None:
    """Same number of rows with the same values (in the same order when ``ordered``)."""
    got = [tuple(_normal(v) for v in row) for row in got]
    expected = [tuple(_normal(v) for v in row) for row in expected]
    assert len(got) == len(expected), f"{len(got)} rows instead of {len(expected)}:\n{got}\n{expected}"
    if not ordered:
        got, expected = sorted(got, key=_sort_key), sorted(expected, key=_sort_key)
    for index, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert len(a) == len(b), f"row {index}: {len(a)} columns instead of {len(b)}"
        assert all(same_value(x, y) for x, y in zip(a, b, strict=True)), f"row {index}: {a} != {b}"
