"""Name resolution with ADQL's case rules: FROM items, their columns, joins, scopes and suggestions.

Regular identifiers match ignoring case, delimited ("...") identifiers match exactly. Every FROM item
gets an alias of its own in the SQL, unique in the whole statement, and every column reference is
qualified with it, so that PostgreSQL binds each name exactly where the translator did.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from sqlglot import exp

from tapserver.adql.metadata import Meta
from tapserver.adql.sqltypes import SqlType, common


def name_matches(written: str, quoted: bool, actual: str) -> bool:
    """ADQL identifier comparison: exact for delimited identifiers, case-insensitive otherwise."""
    return written == actual if quoted else written.lower() == actual.lower()


def suggest(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest candidate, or ''."""
    pool = {c.lower(): c for c in candidates}
    best = difflib.get_close_matches(name.lower(), list(pool), n=1, cutoff=0.6)
    return f"; did you mean '{pool[best[0]]}'?" if best else ""


@dataclass
class SourceColumn:
    """A column of a FROM item: its SQL name, type and meaning."""

    name: str
    type: SqlType
    meta: Meta
    sql_name: str | None = None  # the PostgreSQL name when it is not ``name``


@dataclass
class Source:
    """A FROM item: a published table, an uploaded table, a derived table or a CTE reference."""

    label: str  # for messages: ivoa.obscore, TAP_UPLOAD.t, subquery d
    sql_alias: str
    columns: list[SourceColumn]
    alias: str | None = None  # as written by the user (normalized: lower case unless delimited)
    alias_quoted: bool = False
    table: str | None = None  # table name usable as qualifier when there is no alias
    schema: str | None = None

    def matches(self, table: exp.Identifier, schema: exp.Identifier | None) -> bool:
        """Whether ``[schema.]table`` designates this FROM item."""
        if self.alias is not None:
            return schema is None and name_matches(table.name, table.quoted, self.alias)
        if self.table is None or not name_matches(table.name, table.quoted, self.table):
            return False
        return schema is None or (self.schema is not None
                                  and name_matches(schema.name, schema.quoted, self.schema))

    def find(self, ident: exp.Identifier) -> list[SourceColumn]:
        return [c for c in self.columns if name_matches(ident.name, ident.quoted, c.name)]

    def reference(self, column: SourceColumn) -> exp.Column:
        return exp.Column(this=identifier(column.sql_name or column.name), table=identifier(self.sql_alias))


@dataclass
class Entry:
    """A column as a bare name sees it: from one FROM item, or merged by USING / NATURAL."""

    name: str
    type: SqlType
    meta: Meta
    source: Source | None
    column: SourceColumn | None = None
    merged: exp.Expr | None = None

    def sql(self) -> exp.Expr:
        """A new node referring to this column in the generated SQL."""
        if self.merged is not None:
            return self.merged.copy()
        assert self.source is not None and self.column is not None
        return self.source.reference(self.column)


class Rel:
    """A FROM item or a join of them, with the columns ``*`` expands to, in SQL order."""

    def entries(self) -> list[Entry]:
        raise NotImplementedError

    def sources(self) -> list[Source]:
        raise NotImplementedError


@dataclass
class Leaf(Rel):
    source: Source

    def entries(self) -> list[Entry]:
        return [Entry(c.name, c.type, c.meta, self.source, column=c) for c in self.source.columns]

    def sources(self) -> list[Source]:
        return [self.source]


@dataclass
class Joined(Rel):
    """``left JOIN right``; ``merged`` lists the USING/NATURAL column names (one output column each)."""

    left: Rel
    right: Rel
    side: str  # "", LEFT, RIGHT, FULL
    merged: list[str] = field(default_factory=list)

    def entries(self) -> list[Entry]:
        left, right = self.left.entries(), self.right.entries()
        merged = []
        for name in self.merged:
            a = next(e for e in left if e.name == name)
            b = next(e for e in right if e.name == name)
            if self.side == "FULL":
                sql: exp.Expr = exp.Anonymous(this="coalesce", expressions=[a.sql(), b.sql()])
            else:
                sql = (b if self.side == "RIGHT" else a).sql()
            t = common([a.type, b.type]) or a.type
            meta = a.meta if a.meta == b.meta else Meta(unit=a.meta.unit if a.meta.unit == b.meta.unit else None)
            merged.append(Entry(name, t, meta, None, merged=sql))
        names = set(self.merged)
        return merged + [e for e in left if e.name not in names] + [e for e in right if e.name not in names]

    def sources(self) -> list[Source]:
        return self.left.sources() + self.right.sources()


class Scope:
    """The names visible in one query level: its FROM items (as join trees) and the enclosing levels."""

    def __init__(self, parent: Scope | None, rels: list[Rel] | None = None) -> None:
        self.parent = parent
        self.rels: list[Rel] = rels or []
        self._entries: list[Entry] | None = None
        self._by_name: dict[str, list[Entry]] = {}

    def set_rels(self, rels: list[Rel]) -> None:
        self.rels = rels
        self._entries = None

    def sources(self) -> list[Source]:
        return [s for rel in self.rels for s in rel.sources()]

    def entries(self) -> list[Entry]:
        """The columns bare names see, in ``*`` order (computed once)."""
        if self._entries is None:
            self._entries = [e for rel in self.rels for e in rel.entries()]
            self._by_name = {}
            for entry in self._entries:
                self._by_name.setdefault(entry.name.lower(), []).append(entry)
        return self._entries

    def lookup(self, ident: exp.Identifier) -> list[Entry]:
        """The columns a bare identifier designates at this level."""
        self.entries()
        found = self._by_name.get(ident.name.lower(), [])
        return [e for e in found if e.name == ident.name] if ident.quoted else found

    def chain(self) -> Iterable[Scope]:
        scope: Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent


@dataclass
class Cte:
    """A common table expression: its SQL name and output columns."""

    name: str
    sql_name: str
    columns: list[SourceColumn]


@dataclass
class CteScope:
    parent: CteScope | None
    ctes: list[Cte]

    def find(self, ident: exp.Identifier) -> Cte | None:
        scope: CteScope | None = self
        while scope is not None:
            for cte in scope.ctes:
                if name_matches(ident.name, ident.quoted, cte.name):
                    return cte
            scope = scope.parent
        return None

    def names(self) -> list[str]:
        names: list[str] = []
        scope: CteScope | None = self
        while scope is not None:
            names += [c.name for c in scope.ctes]
            scope = scope.parent
        return names


def identifier(name: str) -> exp.Identifier:
    """An identifier for the generated SQL, quoted unless it is a plain lower-case name."""
    return exp.Identifier(this=name, quoted=_needs_quotes(name))


@lru_cache(maxsize=4096)
def _needs_quotes(name: str) -> bool:
    return not re.fullmatch(r"[a-z_][a-z0-9_]*", name)
