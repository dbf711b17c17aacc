"""Writing an imported graph into the ProvTAP tables, in one transaction, idempotently.

Rules (all checked before anything is written; a refusal names the element and writes nothing):

* **Linking.** A document entity whose id is new is matched to an archive entity by checksum, then by
  location: a provenance entity with that checksum or location, else the dataset (obs_publisher_did) of an
  ingested source file or DataLink product with that checksum or path. A match is merged into the archive
  entity (its id replaces the document's everywhere), except when the document says the entity was generated
  by an activity other than the one that generated the archive entity: then the document entity is kept and
  the archive entity is recorded as derived from it (wasDerivedFrom).
* **References.** Every id a relation, description or parameter refers to must be declared in the document
  or exist in the archive.
* **Generation.** An entity has at most one wasGeneratedBy (Provenance DM); a document that gives an archive
  entity another generating activity is refused.
* **Idempotence.** Rows with an id are merged (stored values are kept, missing ones filled in); relation,
  parameter and configuration rows are added only if no identical row exists. Importing twice changes
  nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from tapserver.provenance.graph import TABLES, ProvGraph, Row
from tapserver.provenance.mapping import Imported

# Tables with a text id, in foreign-key order (targets first).
_ID_TABLES = ("activitydescription", "entitydescription", "usagedescription", "generationdescription",
              "parameterdescription", "configfiledescription", "agent", "entity", "activity")
# Tables without a natural key, in foreign-key order.
_ROW_TABLES = ("used", "wasgeneratedby", "wasderivedfrom", "wasinformedby", "wasassociatedwith",
               "wasattributedto", "hadmember", "parameter", "configfile")
# Defaults for NOT NULL columns a document may leave out.
_DEFAULTS: dict[str, dict[str, Any]] = {"entity": {"entity_class": "Entity"}}

# (table, column) -> referenced table, from the catalog's foreign keys.
REFERENCES: dict[tuple[str, str], str] = {
    (fk.from_table.split(".")[1], column): fk.target_table.split(".")[1]
    for table in TABLES.values() for fk in table.foreign_keys for column, _target in fk.columns
}


class ImportRefused(Exception):
    """The document cannot be imported; nothing was written. The message names the element."""


@dataclass
class LoadReport:
    inserted: dict[str, int] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)  # document rows that were already in the archive
    linked: dict[str, str] = field(default_factory=dict)  # document entity id -> archive entity id
    derived: list[tuple[str, str]] = field(default_factory=list)  # (archive entity, document entity)

    @property
    def changed(self) -> bool:
        return any(self.inserted.values())

    def summary(self) -> str:
        added = ", ".join(f"{n} {table}" for table, n in self.inserted.items() if n) or "nothing new"
        parts = [f"added {added}"]
        known = sum(self.matched.values())
        if known:
            parts.append(f"{known} rows already present")
        if self.linked:
            parts.append(f"{len(self.linked)} entities linked to the archive")
        if self.derived:
            parts.append(f"{len(self.derived)} archive entities derived from imported ones")
        return "; ".join(parts)


def _q(name: str) -> str:
    return '"' + name + '"'


def _cast(table: str, column: str) -> str:
    return f"CAST(:{column} AS {TABLES[table].column(column).sql_type})"  # type: ignore[union-attr]


def _columns(table: str, *, with_id: bool) -> list[str]:
    return [c.name for c in TABLES[table].columns if with_id or c.name != "id"]


def _full(table: str, row: Mapping[str, Any], *, with_id: bool) -> Row:
    values = {name: row.get(name) for name in _columns(table, with_id=with_id)}
    for name, default in _DEFAULTS.get(table, {}).items():
        if values.get(name) is None:
            values[name] = default
    return values


class Loader:
    """Load one imported document on a connection inside a transaction (the caller commits)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- queries ---------------------------------------------------------------------------------------

    def _existing(self, table: str, ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        result = self.conn.execute(text(f"SELECT id FROM provenance.{_q(table)} WHERE id = ANY(:ids)"),
                                   {"ids": wanted})
        return {r[0] for r in result}

    def _generators(self, entity_ids: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(entity_ids))
        if not wanted:
            return {}
        result = self.conn.execute(text("SELECT entity_id, activity_id FROM provenance.wasgeneratedby "
                                        "WHERE entity_id = ANY(:ids)"), {"ids": wanted})
        return {r[0]: r[1] for r in result}

    def match_entity(self, checksum: str | None, location: str | None) -> str | None:
        """The archive entity that is the same file (see the module doc). With a checksum only the checksum
        decides (a file rewritten in place is another entity); without one, the location does."""
        params: dict[str, Any]
        if checksum:
            entity_condition, source_condition, params = "checksum = :key", "s.checksum = :key", {"key": checksum}
        else:
            forms = _location_forms(location)
            if not forms:
                return None
            entity_condition, source_condition = "location = ANY(:key)", "s.file_path = ANY(:key)"
            params = {"key": forms}
        found = self.conn.execute(text(
            f"SELECT id FROM provenance.entity WHERE {entity_condition} "
            "ORDER BY (entity_class = 'DatasetEntity') DESC, id LIMIT 1"), params).scalar()
        if found is not None:
            return str(found)
        for table in ("ingest.source_file", "datalink.product"):
            found = self.conn.execute(text(
                f"SELECT e.id FROM {table} AS s JOIN provenance.entity AS e ON e.id = s.obs_publisher_did "
                f"WHERE {source_condition} ORDER BY e.id LIMIT 1"), params).scalar()
            if found is not None:
                return str(found)
        return None

    # -- the load --------------------------------------------------------------------------------------

    def load(self, imported: Imported) -> LoadReport:
        graph = imported.graph
        report = LoadReport()
        self._link(graph, report)
        self._check(graph, imported.referenced_entity_times)
        for table in _ID_TABLES:
            self._merge_ids(table, graph.table(table), report)
        for entity_id, times in imported.referenced_entity_times.items():
            sets = ", ".join(f"{c} = coalesce({c}, :{c})" for c in times)
            self.conn.execute(text(f"UPDATE provenance.entity SET {sets} WHERE id = :id"), {"id": entity_id, **times})
        for table in _ROW_TABLES:
            self._add_rows(table, graph.table(table), report)
        return report

    def _link(self, graph: ProvGraph, report: LoadReport) -> None:
        entities = graph.table("entity")
        known = self._existing("entity", (row["id"] for row in entities))
        generated_by = {row["entity_id"]: row["activity_id"] for row in graph.table("wasgeneratedby")}
        aliases: dict[str, str] = {}
        for row in entities:
            if row["id"] in known or not (row.get("checksum") or row.get("location")):
                continue
            target = self.match_entity(row.get("checksum"), row.get("location"))
            if target is None or target == row["id"]:
                continue
            ours = generated_by.get(row["id"])
            theirs = self._generators([target]).get(target)
            if ours is not None and theirs is not None and ours != theirs:
                report.derived.append((target, row["id"]))
                continue
            aliases[row["id"]] = target
        if aliases:
            report.linked.update(aliases)
            _rename_entities(graph, aliases)
        for target, source in report.derived:
            graph.table("wasderivedfrom").append(
                {"generatedentity_id": target, "usedentity_id": source, "activity_id": None})

    def _check(self, graph: ProvGraph, referenced_times: Mapping[str, Row]) -> None:
        declared = {table: {row["id"] for row in graph.table(table)} for table in _ID_TABLES}
        wanted: dict[str, dict[str, str]] = {}  # table -> id -> what refers to it
        for (table, column), target in REFERENCES.items():
            for row in graph.table(table):
                value = row.get(column)
                if value is not None and value not in declared[target]:
                    wanted.setdefault(target, {}).setdefault(value, f"{table}.{column}")
        for entity_id in referenced_times:
            if entity_id not in declared["entity"]:
                wanted.setdefault("entity", {}).setdefault(entity_id, "wasGeneratedBy/wasInvalidatedBy time")
        for target, refs in wanted.items():
            missing = sorted(set(refs) - self._existing(target, refs))
            if missing:
                raise ImportRefused(f"{target} {missing[0]!r} (referred to by {refs[missing[0]]}) is neither in "
                                    "the document nor in the archive")
        seen: dict[str, str] = {}
        for row in graph.table("wasgeneratedby"):
            previous = seen.setdefault(row["entity_id"], row["activity_id"])
            if previous != row["activity_id"]:
                raise ImportRefused(f"entity {row['entity_id']!r} is generated by two activities in the document "
                                    f"({previous!r} and {row['activity_id']!r}); an entity has one generation")
        stored = self._generators(seen)
        for entity_id, activity_id in seen.items():
            if stored.get(entity_id, activity_id) != activity_id:
                raise ImportRefused(f"entity {entity_id!r} was generated by activity {stored[entity_id]!r} in the "
                                    f"archive; the document says {activity_id!r} (an entity has one generation)")

    def _merge_ids(self, table: str, rows: list[Row], report: LoadReport) -> None:
        if not rows:
            return
        merged: dict[str, Row] = {}
        for row in rows:  # one row per id: later rows fill what earlier ones left empty
            current = merged.setdefault(row["id"], {})
            for key, value in row.items():
                if current.get(key) is None:
                    current[key] = value
        existing = self._existing(table, merged)
        columns = _columns(table, with_id=False)
        if existing:
            sets = ", ".join(f"{_q(c)} = coalesce(t.{_q(c)}, {_cast(table, c)})" for c in columns)
            self.conn.execute(text(f"UPDATE provenance.{_q(table)} AS t SET {sets} WHERE t.id = :id"),
                              [{"id": i, **{c: merged[i].get(c) for c in columns}} for i in sorted(existing)])
        new = [_full(table, merged[i], with_id=True) for i in merged if i not in existing]
        if new:
            names = _columns(table, with_id=True)
            self.conn.execute(text(
                f"INSERT INTO provenance.{_q(table)} ({', '.join(map(_q, names))}) "
                f"VALUES ({', '.join(_cast(table, c) for c in names)})"), new)
        report.inserted[table] = report.inserted.get(table, 0) + len(new)
        report.matched[table] = report.matched.get(table, 0) + len(existing)

    def _add_rows(self, table: str, rows: list[Row], report: LoadReport) -> None:
        if not rows:
            return
        columns = _columns(table, with_id=False)
        unique = list({tuple(row.get(c) for c in columns): _full(table, row, with_id=False) for row in rows}.values())
        added = 0
        statement = text(
            f"INSERT INTO provenance.{_q(table)} ({', '.join(map(_q, columns))}) "
            f"SELECT {', '.join(_cast(table, c) for c in columns)} WHERE NOT EXISTS ("
            f"SELECT 1 FROM provenance.{_q(table)} AS t WHERE "
            + " AND ".join(f"t.{_q(c)} IS NOT DISTINCT FROM {_cast(table, c)}" for c in columns) + ")")
        for row in unique:
            added += self.conn.execute(statement, row).rowcount
        report.inserted[table] = report.inserted.get(table, 0) + added
        report.matched[table] = report.matched.get(table, 0) + len(unique) - added


def _location_forms(location: str | None) -> list[str]:
    """A location as stored by different writers: ``/path``, ``file:///path``, ``file://host/path``."""
    if not location:
        return []
    forms = [location]
    if location.startswith("/"):
        forms.append("file://" + location)
    elif location.startswith("file://"):
        path = location[len("file://"):]
        path = path[path.find("/"):] if not path.startswith("/") and "/" in path else path
        forms.append(path)
    return forms


def _rename_entities(graph: ProvGraph, aliases: Mapping[str, str]) -> None:
    """Replace entity ids everywhere in ``graph`` (rows and references)."""
    for (table, column), target in REFERENCES.items():
        if target != "entity":
            continue
        for row in graph.table(table):
            if row.get(column) in aliases:
                row[column] = aliases[row[column]]
    for row in graph.table("entity"):
        if row["id"] in aliases:
            row["id"] = aliases[row["id"]]


def load(conn: Connection, imported: Imported) -> LoadReport:
    """Write ``imported`` on ``conn`` (inside the caller's transaction)."""
    return Loader(conn).load(imported)
