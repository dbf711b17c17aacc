"""translate(): ADQL text -> a Translation (PostgreSQL text, result FIELDs, limits), cached per catalog."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

from cachetools import LRUCache
from sqlglot import exp

from tapserver.adql.dialect import to_sql
from tapserver.adql.errors import ADQLError
from tapserver.adql.expressions import ColumnRewrite
from tapserver.adql.metadata import ResultColumn
from tapserver.adql.queries import QueryTranslator
from tapserver.adql.syntax import parse
from tapserver.catalog.model import Catalog, Table


@dataclass(frozen=True)
class Translation:
    """A translated query: the SQL to run, its result columns, and how to apply MAXREC.

    ``limit`` is the LIMIT of the SQL (``min(TOP, maxrec + 1)``); when ``maxrec`` is not None the
    query fetches one row more than MAXREC: if that row comes back, the result overflowed (deliver
    ``maxrec`` rows and say OVERFLOW). ``metadata_only`` is MAXREC=0: no row is fetched.
    """

    adql: str
    sql: str
    columns: tuple[ResultColumn, ...]
    maxrec: int | None = None
    limit: int | None = None
    top: int | None = None
    offset: int | None = None
    metadata_only: bool = False
    tables: tuple[str, ...] = ()
    uploads: tuple[str, ...] = ()

    def overflowed(self, rows: int) -> bool:
        """Whether ``rows`` fetched rows mean the result was truncated by MAXREC."""
        return self.maxrec is not None and rows > self.maxrec


_Key = tuple[str, int | None, frozenset[tuple[str, ColumnRewrite]]]  # ADQL text, MAXREC, rewrites


class _Cache:
    """Translations by (text, maxrec, base URL), least recently used dropped first, per catalog object (a new
    catalog starts afresh). Thread-safe."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.entries: weakref.WeakKeyDictionary[Catalog, LRUCache[_Key, Translation]] = weakref.WeakKeyDictionary()

    def get(self, catalog: Catalog, key: _Key) -> Translation | None:
        with self.lock:
            entries = self.entries.get(catalog)
            return None if entries is None else entries.get(key)

    def put(self, catalog: Catalog, key: _Key, translation: Translation) -> None:
        with self.lock:
            entries = self.entries.get(catalog)
            if entries is None:
                entries = self.entries[catalog] = LRUCache(maxsize=self.size)
            entries[key] = translation

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_CACHE = _Cache()


def clear_cache() -> None:
    """Forget every cached translation (benchmarks; a reloaded catalog is a new object anyway)."""
    _CACHE.clear()


def translate(text: str, catalog: Catalog, *, maxrec: int | None = None,
              uploads: Mapping[str, Table] | None = None,
              rewrites: Mapping[str, ColumnRewrite] | None = None) -> Translation:
    """Translate one ADQL query into PostgreSQL/pgsphere for the published ``catalog``.

    ``maxrec`` (None: no limit) is applied after TOP: the SQL fetches ``min(TOP, maxrec + 1)`` rows so
    that the caller sees whether the result overflowed (:meth:`Translation.overflowed`); 0 means
    metadata only (LIMIT 0). ``rewrites`` maps qualified column names (``ivoa.obscore.access_url``) to
    the expressions selected instead of the stored values (see :data:`ColumnRewrite`; hashable values
    keep the translation cache useful). ``uploads`` maps upload names
    (``TAP_UPLOAD.name``) to tables whose ``schema``/``name`` are those of the real (temporary) table to
    read. Raises a UsageFault (:class:`~tapserver.adql.errors.ADQLError`) for any invalid query.
    """
    if maxrec is not None and maxrec < 0:
        raise ADQLError("MAXREC must not be negative")
    key = (text, maxrec, frozenset((rewrites or {}).items()))
    if not uploads:
        cached = _CACHE.get(catalog, key)
        if cached is not None:
            return cached
    try:
        translation = _translate(text, catalog, maxrec, uploads or {}, rewrites or {})
    except RecursionError:
        raise ADQLError("the query is nested deeper than the translator allows") from None
    if not uploads:
        _CACHE.put(catalog, key, translation)
    return translation


def _translate(text: str, catalog: Catalog, maxrec: int | None, uploads: Mapping[str, Table],
               rewrites: Mapping[str, ColumnRewrite]) -> Translation:
    tree = parse(text)
    translator = QueryTranslator(text, catalog, uploads, rewrites)
    result = translator.query(tree, None, None, top=True)
    sql = result.sql
    columns = result.columns or []
    limit = result.top
    if maxrec is not None:
        limit = maxrec + 1 if limit is None else min(limit, maxrec + 1)
        if maxrec == 0:
            limit = 0
    if limit is not None:
        sql.set("limit", exp.Limit(expression=exp.Literal.number(limit)))
    return Translation(
        adql=text, sql=to_sql(sql), columns=tuple(columns), maxrec=maxrec, limit=limit, top=result.top,
        offset=result.offset, metadata_only=maxrec == 0, tables=tuple(dict.fromkeys(translator.tables)),
        uploads=tuple(dict.fromkeys(translator.used_uploads)),
    )
