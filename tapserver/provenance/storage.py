"""The graph walk: one recursive SQL statement that follows the provenance relations from seed nodes and
returns every row of the answer (nodes, relations, descriptions, configuration) as one JSON document.

Nodes are entities (``e``), activities (``a``) and agents (``g``). From a node the walk follows:

* the causal relations, towards the past (``BACK``) or the future (``FORTH``): wasGeneratedBy, used,
  wasDerivedFrom, wasInformedBy;
* always wasAssociatedWith / wasAttributedTo to the responsible agents, and hadMember up to the
  collections a node belongs to (ProvDAL: "membership upward is always returned");
* with ``AGENT`` the relations from an agent to what it is responsible for, and with ``MEMBERS`` from a
  collection down to its members.

A bounded walk (``DEPTH=n``) carries the depth in its rows: ``UNION`` removes repeats of (node, depth), so
the work is bounded by nodes x depth and a cycle stops at the depth limit. ``DEPTH=ALL`` walks without
depth: ``UNION`` then acts as the visited set, every node is expanded once, and any graph, cyclic or not,
is walked in O(nodes + relations). The relations of the answer are those followed from expanded nodes
(a node at the depth limit is reached but not expanded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, text

from tapserver.db import limit_transaction
from tapserver.provenance.graph import TABLES, NodeKind, NodeRef, ProvGraph, Row, timestamp_columns

_KIND_CODE = {NodeKind.ENTITY: "e", NodeKind.ACTIVITY: "a", NodeKind.AGENT: "g"}
_CODE_KIND = {code: kind for kind, code in _KIND_CODE.items()}


class Direction(StrEnum):
    BACK = "BACK"
    FORTH = "FORTH"


@dataclass(frozen=True)
class WalkRequest:
    """What to walk: seed ids (entities, activities or agents), how far and along which relations."""

    ids: tuple[str, ...]
    depth: int | None  # None: ALL
    direction: Direction = Direction.BACK
    agent: bool = False
    members: bool = False
    details: bool = True  # descriptions, parameters and configuration files of the answer's nodes


@dataclass(frozen=True)
class WalkResult:
    """The answer, or only its size when it has more than ``max_nodes`` nodes."""

    found: frozenset[str]  # seed ids that exist
    node_count: int
    graph: ProvGraph | None  # None when node_count > max_nodes


@dataclass(frozen=True)
class _Edge:
    """A relation table seen as a step from ``source`` (kind code, column) to ``target``."""

    table: str
    source: tuple[str, str]
    target: tuple[str, str]

    def reversed(self) -> _Edge:
        return _Edge(self.table, self.target, self.source)


# Oriented BACK (towards the progenitors).
_CAUSAL = (
    _Edge("wasgeneratedby", ("e", "entity_id"), ("a", "activity_id")),
    _Edge("used", ("a", "activity_id"), ("e", "entity_id")),
    _Edge("wasderivedfrom", ("e", "generatedentity_id"), ("e", "usedentity_id")),
    _Edge("wasinformedby", ("a", "informed_id"), ("a", "informant_id")),
)
_RESPONSIBLE = (
    _Edge("wasassociatedwith", ("a", "activity_id"), ("g", "agent_id")),
    _Edge("wasattributedto", ("e", "entity_id"), ("g", "agent_id")),
)
_MEMBER_OF = _Edge("hadmember", ("e", "entity_id"), ("e", "collection_id"))


def followed_edges(request: WalkRequest) -> tuple[_Edge, ...]:
    """The steps the walk may take for this request."""
    edges = [edge if request.direction is Direction.BACK else edge.reversed() for edge in _CAUSAL]
    edges += _RESPONSIBLE
    if request.agent:
        edges += [edge.reversed() for edge in _RESPONSIBLE]
    edges.append(_MEMBER_OF)
    if request.members:
        edges.append(_MEMBER_OF.reversed())
    return tuple(edges)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table(name: str) -> str:
    return f"provenance.{_q(name)}"


def _rows_json(cte: str, table: str) -> str:
    """A JSON array of arrays: the rows of ``cte`` with the catalog's columns of ``table``, in order."""
    columns = ", ".join(f"t.{_q(c.name)}" for c in TABLES[table].columns)
    return f"(SELECT coalesce(json_agg(json_build_array({columns})), '[]'::json) FROM {cte} AS t)"


def walk_sql(request: WalkRequest) -> str:
    """The statement for a request (bind parameters: ``ids`` text[], ``depth`` int, ``max_nodes`` int)."""
    edges = followed_edges(request)
    bounded = request.depth is not None
    steps = "\n            UNION ALL ".join(
        f"SELECT '{edge.target[0]}'::text, r.{_q(edge.target[1])} FROM {_table(edge.table)} AS r "
        f"WHERE w.kind = '{edge.source[0]}' AND r.{_q(edge.source[1])} = w.id"
        for edge in edges
    )
    stop = [] if request.agent else ["w.kind <> 'g'"]
    if bounded:
        stop.append("w.depth < :depth")
    where = f"WHERE {' AND '.join(stop)}" if stop else ""
    if bounded:
        walk = f"""walk(kind, id, depth) AS (
        SELECT kind, id, 0 FROM seeds
        UNION
        SELECT step.kind, step.id, w.depth + 1
        FROM walk AS w CROSS JOIN LATERAL (
            {steps}
        ) AS step(kind, id)
        {where}
    ),
    nodes AS (SELECT kind, id, min(depth) AS depth FROM walk GROUP BY kind, id)"""
        expanded_if = "depth < :depth"
    else:
        walk = f"""walk(kind, id) AS (
        SELECT kind, id FROM seeds
        UNION
        SELECT step.kind, step.id
        FROM walk AS w CROSS JOIN LATERAL (
            {steps}
        ) AS step(kind, id)
        {where}
    ),
    nodes AS (SELECT kind, id FROM walk)"""
        expanded_if = "true"
    if not request.agent:
        expanded_if += " AND kind <> 'g'"

    # The relations of the answer: for each table, the rows followed from an expanded node.
    conditions: dict[str, list[str]] = {}
    for edge in edges:
        conditions.setdefault(edge.table, []).append(
            f"r.{_q(edge.source[1])} IN (SELECT id FROM expanded WHERE kind = '{edge.source[0]}')")
    relation_ctes = [
        f"rel_{table} AS (SELECT r.* FROM {_table(table)} AS r WHERE {' OR '.join(where_any)})"
        for table, where_any in conditions.items()
    ]
    node_ctes = [
        f"sel_{kind.value} AS (SELECT t.* FROM {_table(kind.value)} AS t "
        f"WHERE t.id IN (SELECT id FROM nodes WHERE kind = '{_KIND_CODE[kind]}'))"
        for kind in (NodeKind.ACTIVITY, NodeKind.AGENT)
    ]
    selected = {kind.value: f"sel_{kind.value}" for kind in NodeKind}
    selected.update({table: f"rel_{table}" for table in conditions})
    detail_ctes: list[str] = []
    if request.details:
        def pick(table: str, refs: list[tuple[str, str]]) -> str:
            if not refs:
                return f"sel_{table} AS (SELECT t.* FROM {_table(table)} AS t WHERE false)"
            sources = " UNION ".join(f"SELECT {_q(col)} FROM {cte}" for cte, col in refs)
            return f"sel_{table} AS (SELECT t.* FROM {_table(table)} AS t WHERE t.id IN ({sources}))"

        detail_ctes = [
            "sel_parameter AS (SELECT t.* FROM provenance.parameter AS t "
            "WHERE t.activity_id IN (SELECT id FROM sel_activity))",
            "sel_configfile AS (SELECT t.* FROM provenance.configfile AS t "
            "WHERE t.activity_id IN (SELECT id FROM sel_activity))",
            # the value entities parameters refer to come with them (the answer has no dangling reference)
            "sel_entity AS (SELECT t.* FROM provenance.entity AS t WHERE t.id IN "
            "(SELECT id FROM nodes WHERE kind = 'e' UNION SELECT valueentity_id FROM sel_parameter))",
            pick("usagedescription", [("rel_used", "usagedescription_id")] if "used" in conditions else []),
            pick("generationdescription", [("rel_wasgeneratedby", "generationdescription_id")]
                 if "wasgeneratedby" in conditions else []),
            pick("parameterdescription", [("sel_parameter", "parameterdescription_id")]),
            pick("configfiledescription", [("sel_configfile", "configfiledescription_id")]),
            pick("entitydescription", [("sel_entity", "entitydescription_id"),
                                       ("sel_usagedescription", "entitydescription_id"),
                                       ("sel_generationdescription", "entitydescription_id")]),
            pick("activitydescription", [("sel_activity", "activitydescription_id"),
                                         ("sel_usagedescription", "activitydescription_id"),
                                         ("sel_generationdescription", "activitydescription_id"),
                                         ("sel_parameterdescription", "activitydescription_id"),
                                         ("sel_configfiledescription", "activitydescription_id")]),
        ]
        for table in ("parameter", "configfile", "usagedescription", "generationdescription",
                      "parameterdescription", "configfiledescription", "entitydescription",
                      "activitydescription"):
            selected[table] = f"sel_{table}"
    else:
        detail_ctes = ["sel_entity AS (SELECT t.* FROM provenance.entity AS t "
                       "WHERE t.id IN (SELECT id FROM nodes WHERE kind = 'e'))"]
    tables = ",\n        ".join(f"'{table}', {_rows_json(cte, table)}" for table, cte in selected.items())
    ctes = ",\n    ".join([*node_ctes, *relation_ctes, *detail_ctes])
    return f"""WITH RECURSIVE
    seeds(kind, id) AS (
        SELECT 'e'::text, t.id FROM provenance.entity AS t WHERE t.id = ANY(:ids)
        UNION SELECT 'a'::text, t.id FROM provenance.activity AS t WHERE t.id = ANY(:ids)
        UNION SELECT 'g'::text, t.id FROM provenance.agent AS t WHERE t.id = ANY(:ids)
    ),
    {walk},
    expanded AS (SELECT kind, id FROM nodes WHERE {expanded_if}),
    {ctes}
SELECT json_build_object(
    'seeds', (SELECT coalesce(json_agg(json_build_array(kind, id)), '[]'::json) FROM seeds),
    'count', (SELECT count(*) FROM nodes),
    'tables', CASE WHEN (SELECT count(*) FROM nodes) <= :max_nodes THEN json_build_object(
        {tables}) END
)::text"""


def read_only_walk(engine: Engine, request: WalkRequest, *, max_nodes: int, timeout_s: float) -> WalkResult:
    """:func:`walk` in a read-only transaction of at most ``timeout_s`` on a connection of ``engine``."""
    with engine.connect() as conn:
        limit_transaction(conn, timeout_s=timeout_s, read_only=True)
        result = walk(conn, request, max_nodes=max_nodes)
        conn.rollback()
    return result


def walk(conn: Connection, request: WalkRequest, *, max_nodes: int) -> WalkResult:
    """Run the walk on ``conn`` (one statement) and build the graph from its answer."""
    params: dict[str, Any] = {"ids": list(request.ids), "max_nodes": max_nodes}
    if request.depth is not None:
        params["depth"] = request.depth
    raw = conn.execute(text(walk_sql(request)), params).scalar_one()
    answer = json.loads(raw)
    seeds = tuple(sorted({NodeRef(_CODE_KIND[code], node_id) for code, node_id in answer["seeds"]}))
    found = frozenset(seed.id for seed in seeds)
    if answer["tables"] is None:
        return WalkResult(found=found, node_count=int(answer["count"]), graph=None)
    rows = {table: [_row(table, values) for values in data] for table, data in answer["tables"].items()}
    return WalkResult(found=found, node_count=int(answer["count"]), graph=ProvGraph(seeds=seeds, rows=rows))


@cache
def _layout(table: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Column names of ``table`` in catalog order and the positions of its time columns."""
    names = tuple(c.name for c in TABLES[table].columns)
    times = timestamp_columns(table)
    return names, tuple(i for i, name in enumerate(names) if name in times)


def _row(table: str, values: list[Any]) -> Row:
    names, times = _layout(table)
    for i in times:
        if values[i] is not None:
            values[i] = datetime.fromisoformat(values[i])
    return dict(zip(names, values, strict=True))
