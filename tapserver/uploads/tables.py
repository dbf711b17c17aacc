"""Uploaded tables -> temporary tables on the query connection (the only module here that speaks SQL).

The tables are created and filled in a read-write transaction of their own (the query then runs in its
read-only one on the same session) and dropped afterwards, so a pooled connection never carries one into
another request. A value the database refuses while loading (a data exception, a pgsphere input error, a
program limit) is the uploader's error: a UsageFault.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import sql
from sqlalchemy import Connection, text

from tapserver.errors import UsageFault
from tapserver.uploads.votable import TEMP_SCHEMA, UploadedTable

#: SQLSTATEs of errors caused by uploaded content: data exceptions (22...), program limits (54...) and
#: pgsphere's input errors (XX000, raised by its type input functions).
_CONTENT_ERRORS = ("22", "54", "XX000")


def _content_error(exc: BaseException) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return any(state.startswith(prefix) for prefix in _CONTENT_ERRORS)


def _driver(conn: Connection) -> Any:
    from tapserver.tap.results import driver_connection

    return driver_connection(conn)


def create_temporary_tables(conn: Connection, tables: Sequence[UploadedTable]) -> None:
    """Create and fill the tables in a read-write transaction of their own, committed on return.

    ``conn`` must not be in a transaction. Data errors (a value PostgreSQL rejects) become UsageFaults.
    """
    import psycopg

    if not tables:
        return
    if conn.in_transaction():
        conn.rollback()
    conn.execute(text("SET TRANSACTION READ WRITE"))
    raw = _driver(conn)
    try:
        with raw.cursor() as cur:
            for table in tables:
                target = sql.Identifier(TEMP_SCHEMA, table.sql_name)
                columns = sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in table.table.columns
                )
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
                cur.execute(sql.SQL("CREATE TEMPORARY TABLE {} ({})").format(target, columns))
                names = sql.SQL(", ").join(sql.Identifier(c.name) for c in table.table.columns)
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, names)) as copy:
                    for row in table.iter_rows():
                        copy.write_row(row)
                cur.execute(sql.SQL("ANALYZE {}").format(target))
    except psycopg.Error as exc:
        conn.rollback()
        if not _content_error(exc):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageFault(f"an uploaded value could not be stored: {first}") from None
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def drop_temporary_tables(conn: Connection, tables: Sequence[UploadedTable]) -> None:
    """Drop the tables (in a read-write transaction); invalidate the connection if that fails, so the
    pool never hands out a session that still holds them."""
    if not tables:
        return
    try:
        if conn.in_transaction():
            conn.rollback()
        conn.execute(text("SET TRANSACTION READ WRITE"))
        targets = sql.SQL(", ").join(sql.Identifier(TEMP_SCHEMA, t.sql_name) for t in tables)
        with _driver(conn).cursor() as cur:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(targets))
        conn.commit()
    except Exception:
        conn.invalidate()


@contextmanager
def temporary_tables(conn: Connection, tables: Sequence[UploadedTable]) -> Iterator[None]:
    """Create the tables for the duration of the block (the query runs inside), then drop them."""
    create_temporary_tables(conn, tables)
    try:
        yield
    finally:
        drop_temporary_tables(conn, tables)
