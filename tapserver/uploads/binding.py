"""Uploaded tables -> common table expressions of the query itself (the only module here that speaks SQL).

Nothing is written on the query connection: each upload becomes ``WITH tap_upload_<name>(cols) AS (...)``
in front of the translated query, its rows given as one typed array literal per column and unnested
(``ROWS FROM (unnest(...), ...)``, which has no argument limit). The query therefore runs in its read-only
transaction, on the primary or on a hot standby alike, and the planner knows the row count of each array
literal, so joins with the archive's tables keep using their indexes.

Columns whose values need PostgreSQL's own input functions (pgsphere geometries, arrays, timestamps) travel
as ``text[]`` and are cast in the expression; a value that such a function refuses is the uploader's error,
so those casts are checked by one cheap scan before the query runs and refusals become UsageFaults.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from tapserver.errors import UsageFault
from tapserver.uploads.votable import UploadedTable

#: SQLSTATEs of errors caused by uploaded content: data exceptions (22...), program limits (54...) and
#: pgsphere's input errors (XX000, raised by its type input functions).
_CONTENT_ERRORS = ("22", "54", "XX000")
#: Element types bound directly as typed arrays; every other type is sent as text and cast.
_DIRECT = frozenset({"boolean", "smallint", "integer", "bigint", "real", "double precision", "text"})
_LEADING_WITH = re.compile(r"^\s*WITH\s+", re.IGNORECASE)


def _content_error(exc: BaseException) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return any(state.startswith(prefix) for prefix in _CONTENT_ERRORS)


def _refused(exc: BaseException) -> UsageFault:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UsageFault(f"an uploaded value cannot be read: {first}")


def _text_array(value: list[Any] | None) -> str | None:
    """A one-dimensional number or boolean array in PostgreSQL's array input syntax."""
    if value is None:
        return None
    return "{" + ",".join("NULL" if v is None else ("true" if v else "false") if isinstance(v, bool) else repr(v)
                          for v in value) + "}"


def _columns(table: UploadedTable) -> list[list[Any]]:
    columns: list[list[Any]] = [[] for _ in table.table.columns]
    for row in table.iter_rows():
        for values, value in zip(columns, row, strict=True):
            values.append(value)
    return columns


def _expression(table: UploadedTable) -> tuple[sql.Composable, bool]:
    """(``name(cols) AS (SELECT ... FROM ROWS FROM (unnest(...), ...) AS u(...))``, whether it casts text)."""
    arrays: list[sql.Composable] = []
    outputs: list[sql.Composable] = []
    inner: list[sql.Composable] = []
    casts = False
    for i, (column, values) in enumerate(zip(table.table.columns, _columns(table), strict=True)):
        position = sql.Identifier(f"c{i}")
        inner.append(position)
        if column.sql_type in _DIRECT:
            arrays.append(sql.SQL("unnest(CAST({} AS {}[]))").format(sql.Literal(values), sql.SQL(column.sql_type)))
            outputs.append(position)
            continue
        casts = True
        if column.sql_type.endswith("[]"):
            values = [_text_array(v) for v in values]
        arrays.append(sql.SQL("unnest(CAST({} AS text[]))").format(sql.Literal(values)))
        outputs.append(sql.SQL("CAST({} AS {})").format(position, sql.SQL(column.sql_type)))
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in table.table.columns)
    body = sql.SQL("SELECT {} FROM ROWS FROM ({}) AS u({})").format(
        sql.SQL(", ").join(outputs), sql.SQL(", ").join(arrays), sql.SQL(", ").join(inner))
    return sql.SQL("{} ({}) AS ({})").format(sql.Identifier(table.sql_name), names, body), casts


def bind_uploads(raw: psycopg.Connection[Any], query: str, tables: Sequence[UploadedTable]) -> str:
    """``query`` with the uploads in front as common table expressions, rendered for ``raw`` (whose
    transaction must already be open: the cast check runs in it). UsageFault for a value refused."""
    if not tables:
        return query
    entries = []
    try:
        for table in tables:
            entry, casts = _expression(table)
            if casts:
                # count(t::text) evaluates every cell (count(*) would let the planner skip the casts)
                check = sql.SQL("WITH {} SELECT count(t::text) FROM {} AS t").format(
                    entry, sql.Identifier(table.sql_name))
                with raw.cursor() as cur:
                    cur.execute(check)
            entries.append(entry.as_string(raw))
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        if exc.sqlstate is None or _content_error(exc):  # None: refused by psycopg itself (a NUL in text)
            raise _refused(exc) from None
        raise
    rest = _LEADING_WITH.sub("", query, count=1)
    prefix = "WITH " + ", ".join(entries)
    return f"{prefix}, {rest}" if rest != query else f"{prefix} {query}"
