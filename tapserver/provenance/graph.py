"""A provenance graph as rows of the ProvTAP tables: what the walk returns and what imports write.

Rows are dicts keyed by the column names that :mod:`tapserver.catalog.provenance` declares (the one
description of the tables), so the graph, the PROV-VOTable writer and the loader agree on names and types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from tapserver.catalog.model import Table
from tapserver.catalog.provenance import PROVENANCE_TABLES

Row = dict[str, Any]
Rows = dict[str, list[Row]]

TABLES: Mapping[str, Table] = {table.name: table for table in PROVENANCE_TABLES}
"""The ProvTAP tables by (unqualified) name, in catalog order."""


@cache
def timestamp_columns(table: str) -> frozenset[str]:
    """Columns of ``table`` that hold times (naive UTC ``datetime`` in rows)."""
    return frozenset(c.name for c in TABLES[table].columns if c.sql_type.startswith("timestamp"))


class NodeKind(StrEnum):
    """The three kinds of nodes of a provenance graph; the value is the table name."""

    ENTITY = "entity"
    ACTIVITY = "activity"
    AGENT = "agent"


@dataclass(frozen=True, order=True)
class NodeRef:
    kind: NodeKind
    id: str


@dataclass(frozen=True)
class Link:
    """One relation row seen as a directed edge of the graph, in the direction PROV writes it
    (generated entity -> activity, activity -> used entity, ...)."""

    table: str
    source: NodeRef
    target: NodeRef
    row: Row


# Relation tables: (table, (source kind, column), (target kind, column)), oriented as PROV writes them.
RELATIONS: tuple[tuple[str, tuple[NodeKind, str], tuple[NodeKind, str]], ...] = (
    ("wasgeneratedby", (NodeKind.ENTITY, "entity_id"), (NodeKind.ACTIVITY, "activity_id")),
    ("used", (NodeKind.ACTIVITY, "activity_id"), (NodeKind.ENTITY, "entity_id")),
    ("wasderivedfrom", (NodeKind.ENTITY, "generatedentity_id"), (NodeKind.ENTITY, "usedentity_id")),
    ("wasinformedby", (NodeKind.ACTIVITY, "informed_id"), (NodeKind.ACTIVITY, "informant_id")),
    ("wasassociatedwith", (NodeKind.ACTIVITY, "activity_id"), (NodeKind.AGENT, "agent_id")),
    ("wasattributedto", (NodeKind.ENTITY, "entity_id"), (NodeKind.AGENT, "agent_id")),
    ("hadmember", (NodeKind.ENTITY, "collection_id"), (NodeKind.ENTITY, "entity_id")),
)


@dataclass
class ProvGraph:
    """Rows of the provenance tables that make up one answer (or one document to import).

    ``seeds`` are the nodes the request named. Every table of the catalog has a (possibly empty) list.
    """

    seeds: tuple[NodeRef, ...] = ()
    rows: Rows = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in TABLES:
            self.rows.setdefault(name, [])
        unknown = set(self.rows) - set(TABLES)
        if unknown:
            raise ValueError(f"not provenance tables: {', '.join(sorted(unknown))}")

    def table(self, name: str) -> list[Row]:
        return self.rows[name]

    def nodes(self) -> Iterator[NodeRef]:
        """Entities, activities and agents of the graph (description and configuration rows excluded)."""
        for kind in NodeKind:
            for row in self.rows[kind.value]:
                yield NodeRef(kind, row["id"])

    def links(self) -> Iterator[Link]:
        for table, (source_kind, source_col), (target_kind, target_col) in RELATIONS:
            for row in self.rows[table]:
                yield Link(table, NodeRef(source_kind, row[source_col]), NodeRef(target_kind, row[target_col]),
                           row)

    def count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())
