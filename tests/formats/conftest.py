"""A database of our own with a table holding every result type the ADQL engine produces, and helpers."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tapserver.votable.fields import ResultColumn
from tests.dbutil import reset_session, throwaway_database

RC = ResultColumn

#: (SQL column, SQL type, result metadata); the table's columns in order.
ALL_TYPES: list[tuple[str, str, ResultColumn]] = [
    ("t_text", "text", RC("t_text", "char", "*", ucd="meta.id", description="Text & <markup>")),
    ("t_uni", "text", RC("t_uni", "unicodeChar", "*", description="Non-ASCII text")),
    ("t_double", "double precision", RC("t_double", "double", unit="deg", ucd="pos.eq.ra")),
    ("t_real", "real", RC("t_real", "float")),
    ("t_int", "integer", RC("t_int", "int")),
    ("t_bigint", "bigint", RC("t_bigint", "long", unit="kbyte")),
    ("t_smallint", "smallint", RC("t_smallint", "short")),
    ("t_bool", "boolean", RC("t_bool", "boolean")),
    ("t_ts", "timestamp without time zone", RC("t_ts", "char", "*", xtype="timestamp")),
    ("t_date", "date", RC("t_date", "char", "*", xtype="timestamp")),
    ("t_point", "double precision[]", RC("t_point", "double", "2", xtype="point", unit="deg")),
    ("t_circle", "double precision[]", RC("t_circle", "double", "3", xtype="circle", unit="deg")),
    ("t_poly", "double precision[]", RC("t_poly", "double", "*", xtype="polygon", unit="deg")),
    ("t_region", "text", RC("t_region", "char", "*", xtype="adql:REGION")),
    ("t_bytes", "bytea", RC("t_bytes", "unsignedByte", "*")),
]

ROWS_SQL = r"""
INSERT INTO alltypes VALUES
 (1, 'obs-1 "quoted", comma', 'Müller – Crab ☃', 1.5, 2.25, 42, 9000000000, 7, true,
  '2020-01-02 03:04:05.25', '2020-01-02', '{83.63,22.01}', '{83.63,22.01,2.5}',
  '{10,10,10.2,10,10.2,10.2}', 'Circle ICRS 83.63 22.01 2.5', '\x00ff10'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, E'a<b>&c\\d\te\nf\rg]]>', '', 'NaN', 'Infinity', -2147483647, -9223372036854775807, -32767, false,
  '1999-12-31 23:59:59', '1970-01-01', '{0,-90}', '{359.5,89.5,0.001}', '{}', '', ''),
 (4, '', 'x', '-Infinity', -0.5, 0, 0, 0, false, '2000-01-01 00:00:00.000001', '2000-02-29',
  '{1e-300,1e300}', '{1,2,3}', '{1,2,3,4,5,6,7,8}', 'Polygon ICRS 1 2 3 4 5 6', '\x')
"""


def libpq_url(url: Any) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def formats_db() -> Iterator[str]:
    """A throwaway database with table ``alltypes`` (4 rows: typical, all NULL, edge values, more)."""
    with throwaway_database("tapserver_formats") as url:
        dsn = libpq_url(url)
        with psycopg.connect(dsn, autocommit=True) as conn:
            columns = ", ".join(f"{name} {sqltype}" for name, sqltype, _ in ALL_TYPES)
            conn.execute(f"CREATE TABLE alltypes (id integer PRIMARY KEY, {columns})")
            conn.execute(ROWS_SQL)
        yield dsn


@pytest.fixture(scope="session")
def _formats_connections(formats_db: str) -> Iterator[list[psycopg.Connection[Any]]]:
    """The connection the ``conn`` fixture hands out (opened again only if a test broke it), closed at the end."""
    kept: list[psycopg.Connection[Any]] = []
    yield kept
    for connection in kept:
        connection.close()


@pytest.fixture()
def conn(formats_db: str, _formats_connections: list[psycopg.Connection[Any]]) -> Iterator[psycopg.Connection[Any]]:
    """A connection inside a read-only transaction (as the HTTP layer opens it). One connection serves the
    session: each test gets it fresh, its last transaction rolled back and its session reset."""
    if not _formats_connections or _formats_connections[0].closed or _formats_connections[0].broken:
        _formats_connections[:] = [psycopg.connect(formats_db)]
    connection = _formats_connections[0]
    reset_session(connection)
    connection.execute("SET TRANSACTION READ ONLY")
    yield connection
    if not connection.closed:
        connection.rollback()


ALL_COLUMNS = [meta for _, _, meta in ALL_TYPES]
ALL_SQL = "SELECT " + ", ".join(name for name, _, _ in ALL_TYPES) + " FROM alltypes ORDER BY id"


_expected_rows: dict[str, list[tuple[Any, ...]]] = {}


def expected_rows(dsn: str) -> list[tuple[Any, ...]]:
    """The table's rows as psycopg reads them (the reference the writers are checked against; read once per
    database: no test changes the table)."""
    if dsn not in _expected_rows:
        with psycopg.connect(dsn) as connection:
            _expected_rows[dsn] = connection.execute(ALL_SQL).fetchall()
    return copy.deepcopy(_expected_rows[dsn])
