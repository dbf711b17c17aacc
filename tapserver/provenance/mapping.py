"""IVOA Provenance DM rows <-> W3C PROV records (provenance.md §4).

Export (:func:`to_prov_json`) writes a PROV-JSON document (a dict) from a :class:`ProvGraph`; the other
W3C serialisations are produced from it by the ``prov`` library. Import (:func:`graph_from_prov`) maps a
``prov`` document back to rows. The two are inverse for everything the tables hold.

W3C core, in both models:

=====================  =====================================================================
entity                 ``prov:label`` = name, ``prov:location``, ``prov:value`` (ValueEntity),
                       ``prov:type`` = ``prov:Collection``; generatedAtTime is the ``prov:time``
                       of its generation, invalidatedAtTime a ``wasInvalidatedBy`` record
activity               ``prov:startTime``, ``prov:endTime``, ``prov:label`` = name
agent                  ``prov:type`` = ``prov:Person`` | ``prov:Organization`` |
                       ``prov:SoftwareAgent``, ``prov:label`` = name
relations              used, wasGeneratedBy, wasDerivedFrom, wasInformedBy, wasAssociatedWith,
                       wasAttributedTo, hadMember, with ``prov:role`` and ``prov:time``
=====================  =====================================================================

``MODEL=IVOA`` adds the Provenance DM: ``voprov:`` attributes (comment, email, contentType,
entityDescription...), ``prov:type`` ``voprov:DatasetEntity`` / ``voprov:ValueEntity``, and the description
and configuration classes as entities typed ``voprov:ActivityDescription``, ``voprov:UsageDescription``,
``voprov:Parameter``... that nodes refer to by ``voprov:<class>`` attributes. A parameter or configuration
file is tied to its activity by a ``wasInfluencedBy`` typed ``voprov:WasConfiguredBy`` (its
``voprov:artefactType`` is ``Parameter`` or ``ConfigFile``, as the model's WasConfiguredBy). Every record
stays readable by W3C tools.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tapserver.provenance.graph import ProvGraph, Row, Rows
from tapserver.provenance.identifiers import (
    FIXED_PREFIXES,
    PROV_NS,
    TAPSERVER_NS,
    VOPROV_NS,
    Namespaces,
    identifier_of,
)

if TYPE_CHECKING:  # prov is imported by the import functions below (export needs none of it)
    from prov.identifier import QualifiedName
    from prov.model import (
        ProvBundle,
        ProvDocument,
        ProvRecord,
    )


class Model(StrEnum):
    IVOA = "IVOA"
    W3C = "W3C"


ENTITY_CLASSES = ("Entity", "DatasetEntity", "ValueEntity", "Collection")
AGENT_TYPES = ("Person", "Organization", "SoftwareAgent")

# Description and configuration classes written as typed entities: table -> (voprov class, attributes),
# attributes as (column, voprov attribute, is a reference to another record). The name is prov:label.
DESCRIPTIONS: dict[str, tuple[str, tuple[tuple[str, str, bool], ...]]] = {
    "activitydescription": ("ActivityDescription", (
        ("version", "version", False), ("description", "description", False), ("docurl", "docurl", False),
        ("type", "type", False), ("subtype", "subtype", False))),
    "entitydescription": ("EntityDescription", (
        ("description", "description", False), ("docurl", "docurl", False), ("type", "type", False),
        ("content_type", "contentType", False), ("value_type", "valueType", False), ("unit", "unit", False),
        ("ucd", "ucd", False), ("utype", "utype", False))),
    "usagedescription": ("UsageDescription", (
        ("activitydescription_id", "activityDescription", True), ("role", "role", False),
        ("description", "description", False), ("type", "type", False),
        ("multiplicity", "multiplicity", False), ("entitydescription_id", "entityDescription", True))),
    "generationdescription": ("GenerationDescription", (
        ("activitydescription_id", "activityDescription", True), ("role", "role", False),
        ("description", "description", False), ("type", "type", False),
        ("multiplicity", "multiplicity", False), ("entitydescription_id", "entityDescription", True))),
    "parameterdescription": ("ParameterDescription", (
        ("activitydescription_id", "activityDescription", True), ("value_type", "valueType", False),
        ("description", "description", False), ("unit", "unit", False), ("ucd", "ucd", False),
        ("utype", "utype", False), ("min", "min", False), ("max", "max", False),
        ("default", "default", False), ("options", "options", False))),
    "configfiledescription": ("ConfigFileDescription", (
        ("activitydescription_id", "activityDescription", True), ("content_type", "contentType", False),
        ("description", "description", False))),
}
# Tables whose rows have no name column of their own (the label is not written).
_UNNAMED = frozenset({"usagedescription", "generationdescription"})
CONFIGURATION: dict[str, tuple[str, str, tuple[tuple[str, str, bool], ...]]] = {
    # table -> (voprov class, artefactType, attributes besides name/value/location)
    "parameter": ("Parameter", "Parameter", (
        ("parameterdescription_id", "parameterDescription", True), ("valueentity_id", "valueEntity", True))),
    "configfile": ("ConfigFile", "ConfigFile", (
        ("comment", "comment", False), ("configfiledescription_id", "configFileDescription", True))),
}
_ENTITY_EXTRAS = (("comment", "comment", False), ("entitydescription_id", "entityDescription", True),
                  ("content_type", "contentType", False))
_ACTIVITY_EXTRAS = (("comment", "comment", False), ("activitydescription_id", "activityDescription", True))
_AGENT_EXTRAS = tuple((c, c, False) for c in ("comment", "email", "affiliation", "phone", "address", "url"))


def configuration_id(row: Row, table: str, seen: dict[str, int]) -> str:
    """Identifier of the entity standing for a parameter or configuration file: the activity's id with a
    fragment naming it (``#parameter/<name>``), numbered when an activity has two of the same name."""
    base = f"{row['activity_id']}#{table}/{row['name']}"
    seen[base] = seen.get(base, 0) + 1
    return base if seen[base] == 1 else f"{base}/{seen[base]}"


class _JsonWriter:
    """Collects PROV-JSON records; names are written as qualified names of one :class:`Namespaces`."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.names = Namespaces()
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self._blank = 0
        self._qnames: dict[str, str] = {}

    def qname(self, identifier: str) -> str:
        qname = self._qnames.get(identifier)
        if qname is None:
            qname = self._qnames[identifier] = self.names.qname(identifier)
        return qname

    def add(self, kind: str, attributes: dict[str, Any], identifier: str | None = None) -> None:
        if identifier is None:
            self._blank += 1
            key = f"_:r{self._blank}"
        else:
            key = self.qname(identifier)
        self.records.setdefault(kind, {})[key] = {k: v for k, v in attributes.items() if v is not None}

    def document(self) -> dict[str, Any]:
        extensions = ("voprov", "tapserver") if self.model is Model.IVOA else ()
        fixed = {prefix: FIXED_PREFIXES[prefix] for prefix in extensions}
        return {"prefix": {**fixed, **self.names.declarations()}, **self.records}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _qname_value(text: str) -> dict[str, str]:
    return {"$": text, "type": "xsd:QName"}


def to_prov_json(graph: ProvGraph, model: Model = Model.IVOA) -> dict[str, Any]:
    """The PROV-JSON document (as a dict, ready for ``json.dumps``) of a graph."""
    out = _JsonWriter(model)
    ivoa = model is Model.IVOA

    def extras(row: Row, spec: Iterable[tuple[str, str, bool]], namespace: str = "voprov") -> dict[str, Any]:
        if not ivoa:
            return {}
        result: dict[str, Any] = {}
        for column, attribute, reference in spec:
            value = row.get(column)
            if value is not None:
                result[f"{namespace}:{attribute}"] = _qname_value(out.qname(value)) if reference else value
        return result

    generated: set[str] = set()
    for row in graph.table("wasgeneratedby"):
        generated.add(row["entity_id"])
    entities = {row["id"]: row for row in graph.table("entity")}
    for row in graph.table("entity"):
        types = []
        if row["entity_class"] == "Collection":
            types.append(_qname_value("prov:Collection"))
        elif ivoa and row["entity_class"] in ("DatasetEntity", "ValueEntity"):
            types.append(_qname_value(f"voprov:{row['entity_class']}"))
        attributes: dict[str, Any] = {
            "prov:type": types[0] if types else None, "prov:label": row["name"],
            "prov:location": row["location"], "prov:value": row["value"],
            **extras(row, _ENTITY_EXTRAS),
            **({"tapserver:checksum": row["checksum"]} if ivoa and row["checksum"] else {}),
        }
        out.add("entity", attributes, row["id"])
        if row["generatedattime"] is not None and row["id"] not in generated:
            out.add("wasGeneratedBy", {"prov:entity": out.qname(row["id"]),
                                       "prov:time": _time(row["generatedattime"])})
        if row["invalidatedattime"] is not None:
            out.add("wasInvalidatedBy", {"prov:entity": out.qname(row["id"]),
                                         "prov:time": _time(row["invalidatedattime"])})
    for row in graph.table("activity"):
        out.add("activity", {"prov:startTime": _time(row["starttime"]), "prov:endTime": _time(row["endtime"]),
                             "prov:label": row["name"], **extras(row, _ACTIVITY_EXTRAS)}, row["id"])
    for row in graph.table("agent"):
        out.add("agent", {"prov:type": _qname_value(f"prov:{row['type']}") if row["type"] else None,
                          "prov:label": row["name"], **extras(row, _AGENT_EXTRAS)}, row["id"])

    for row in graph.table("used"):
        out.add("used", {"prov:activity": out.qname(row["activity_id"]), "prov:entity": out.qname(row["entity_id"]),
                         "prov:time": _time(row["time"]), "prov:role": row["role"],
                         **extras(row, (("usagedescription_id", "usageDescription", True),))})
    for row in graph.table("wasgeneratedby"):
        entity = entities.get(row["entity_id"])
        out.add("wasGeneratedBy", {
            "prov:entity": out.qname(row["entity_id"]), "prov:activity": out.qname(row["activity_id"]),
            "prov:time": _time(entity["generatedattime"]) if entity else None, "prov:role": row["role"],
            **extras(row, (("generationdescription_id", "generationDescription", True),))})
    for row in graph.table("wasderivedfrom"):
        out.add("wasDerivedFrom", {
            "prov:generatedEntity": out.qname(row["generatedentity_id"]),
            "prov:usedEntity": out.qname(row["usedentity_id"]),
            "prov:activity": out.qname(row["activity_id"]) if row["activity_id"] else None})
    for row in graph.table("wasinformedby"):
        out.add("wasInformedBy", {"prov:informed": out.qname(row["informed_id"]),
                                  "prov:informant": out.qname(row["informant_id"])})
    for row in graph.table("wasassociatedwith"):
        out.add("wasAssociatedWith", {"prov:activity": out.qname(row["activity_id"]),
                                      "prov:agent": out.qname(row["agent_id"]), "prov:role": row["role"]})
    for row in graph.table("wasattributedto"):
        out.add("wasAttributedTo", {"prov:entity": out.qname(row["entity_id"]),
                                    "prov:agent": out.qname(row["agent_id"]), "prov:role": row["role"]})
    for row in graph.table("hadmember"):
        out.add("hadMember", {"prov:collection": out.qname(row["collection_id"]),
                              "prov:entity": out.qname(row["entity_id"])})

    if ivoa:
        for table, (cls, spec) in DESCRIPTIONS.items():
            for row in graph.table(table):
                out.add("entity", {"prov:type": _qname_value(f"voprov:{cls}"),
                                   "prov:label": None if table in _UNNAMED else row["name"],
                                   **extras(row, spec)}, row["id"])
        for table, (cls, artefact, spec) in CONFIGURATION.items():
            seen: dict[str, int] = {}
            for row in graph.table(table):
                identifier = configuration_id(row, table, seen)
                out.add("entity", {"prov:type": _qname_value(f"voprov:{cls}"), "prov:label": row["name"],
                                   "prov:value": row.get("value"), "prov:location": row.get("location"),
                                   **extras(row, spec)}, identifier)
                out.add("wasInfluencedBy", {
                    "prov:influencee": out.qname(row["activity_id"]), "prov:influencer": out.qname(identifier),
                    "prov:type": _qname_value("voprov:WasConfiguredBy"), "voprov:artefactType": artefact})
    return out.document()


# ---------------------------------------------------------------------------------------------- import


class ProvMappingError(ValueError):
    """A PROV record that the tables cannot hold; the message names the record."""


_V = VOPROV_NS
_P = PROV_NS


def _uri(name: object) -> str:
    from prov.identifier import QualifiedName

    return name.uri if isinstance(name, QualifiedName) else str(name)


def _text(value: Any) -> str | None:
    from prov.identifier import QualifiedName

    if value is None:
        return None
    if isinstance(value, QualifiedName):
        return identifier_of(value.uri)
    if isinstance(value, datetime):
        return value.isoformat()
    literal = getattr(value, "value", None)
    return str(literal) if literal is not None else str(value)


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    offset = value.utcoffset()
    return (value - offset if offset else value).replace(tzinfo=None)


def _ref(name: QualifiedName | None) -> str | None:
    return identifier_of(name.uri) if name is not None else None


def _describe(record: ProvRecord) -> str:
    ident = f" {identifier_of(record.identifier.uri)}" if record.identifier is not None else ""
    return f"{type(record).__name__.removeprefix('Prov').lower()}{ident}"


class _Attributes:
    """The attributes of one record by IRI (first value of each)."""

    def __init__(self, record: ProvRecord) -> None:
        self.values: dict[str, Any] = {}
        self.types: set[str] = set()
        for name, value in record.attributes:
            uri = _uri(name)
            if uri == _P + "type":
                self.types.add(_uri(value))
            self.values.setdefault(uri, value)

    def text(self, uri: str) -> str | None:
        return _text(self.values.get(uri))

    def voprov(self, spec: Iterable[tuple[str, str, bool]]) -> Row:
        return {column: self.text(_V + attribute) for column, attribute, _reference in spec}

    def time(self, uri: str) -> datetime | None:
        value = self.values.get(uri)
        if value is None:
            return None
        if isinstance(value, datetime):
            return _naive_utc(value)
        try:
            return _naive_utc(datetime.fromisoformat(str(_text(value))))
        except ValueError:
            raise ProvMappingError(f"{uri.rsplit('#', 1)[-1]} is not a time: {_text(value)!r}") from None


_DESCRIPTION_BY_CLASS = {_V + cls: table for table, (cls, _spec) in DESCRIPTIONS.items()}
_CONFIGURATION_BY_CLASS = {_V + cls: table for table, (cls, _artefact, _spec) in CONFIGURATION.items()}
_UNSUPPORTED = "no ProvTAP table holds it"


@dataclass
class Imported:
    """What a document holds: rows to write, and times for entities it only refers to (by id)."""

    graph: ProvGraph
    referenced_entity_times: dict[str, Row]


def graph_from_prov(document: ProvDocument) -> Imported:
    """Rows for every record of ``document`` (unified first: several records of one id are merged).

    Raises ProvMappingError naming the first record that cannot be stored (bundles, delegation, start/end,
    specialisation, alternate, mention, plain influence, an unknown agent type, ...).
    """
    from prov.model import (
        ProvActivity,
        ProvAgent,
        ProvAssociation,
        ProvAttribution,
        ProvCommunication,
        ProvDerivation,
        ProvEntity,
        ProvGeneration,
        ProvInfluence,
        ProvInvalidation,
        ProvMembership,
        ProvUsage,
    )

    if document.has_bundles():
        bundle = next(iter(document.bundles))
        raise ProvMappingError(f"bundle {_ref(bundle.identifier)}: bundles are not supported")
    try:
        unified = document.unified()
    except Exception as exc:  # prov raises ProvUnificationError (and friends) on conflicting records
        raise ProvMappingError(f"conflicting records: {exc}") from None
    rows: Rows = {}
    configuration: dict[str, tuple[str, Row]] = {}  # entity id -> (table, row without activity)
    attached: dict[str, str] = {}  # configuration entity id -> activity id
    generation_time: dict[str, datetime] = {}
    invalidation_time: dict[str, datetime] = {}

    def add(table: str, row: Row) -> None:
        rows.setdefault(table, []).append(row)

    handlers: dict[type, Callable[[ProvRecord, _Attributes], None]] = {}

    def entity(record: ProvRecord, attrs: _Attributes) -> None:
        ident = _ref(record.identifier)
        assert ident is not None
        description = next((_DESCRIPTION_BY_CLASS[t] for t in attrs.types if t in _DESCRIPTION_BY_CLASS), None)
        if description is not None:
            _cls, spec = DESCRIPTIONS[description]
            row = {"id": ident, **attrs.voprov(spec)}
            if description not in _UNNAMED:
                row["name"] = attrs.text(_P + "label") or _local(record)
            add(description, row)
            return
        config = next((_CONFIGURATION_BY_CLASS[t] for t in attrs.types if t in _CONFIGURATION_BY_CLASS), None)
        if config is not None:
            _cls, _artefact, spec = CONFIGURATION[config]
            row = {"name": attrs.text(_P + "label") or _local(record), **attrs.voprov(spec)}
            if config == "parameter":
                row["value"] = attrs.text(_P + "value")
                if row["value"] is None:
                    raise ProvMappingError("a voprov:Parameter needs a prov:value")
            else:
                row["location"] = attrs.text(_P + "location")
                if row["location"] is None:
                    raise ProvMappingError("a voprov:ConfigFile needs a prov:location")
            configuration[ident] = (config, row)
            return
        entity_class = None
        if _P + "Collection" in attrs.types:
            entity_class = "Collection"
        elif _V + "DatasetEntity" in attrs.types:
            entity_class = "DatasetEntity"
        elif _V + "ValueEntity" in attrs.types:
            entity_class = "ValueEntity"
        add("entity", {"id": ident, "name": attrs.text(_P + "label"), "location": attrs.text(_P + "location"),
                       "value": attrs.text(_P + "value"), "entity_class": entity_class,
                       "checksum": attrs.text(TAPSERVER_NS + "checksum"),
                       **attrs.voprov(_ENTITY_EXTRAS)})

    def activity(record: ProvRecord, attrs: _Attributes) -> None:
        add("activity", {"id": _ref(record.identifier), "name": attrs.text(_P + "label"),
                         "starttime": attrs.time(_P + "startTime"), "endtime": attrs.time(_P + "endTime"),
                         **attrs.voprov(_ACTIVITY_EXTRAS)})

    def agent(record: ProvRecord, attrs: _Attributes) -> None:
        kinds = [t.removeprefix(_P) for t in attrs.types if t.removeprefix(_P) in AGENT_TYPES]
        others = [t for t in attrs.types if t.removeprefix(_P) not in AGENT_TYPES]
        if others and not kinds:
            raise ProvMappingError(f"agent type {others[0]} is not one of prov:{', prov:'.join(AGENT_TYPES)}")
        add("agent", {"id": _ref(record.identifier), "name": attrs.text(_P + "label") or _local(record),
                      "type": kinds[0] if kinds else None, **attrs.voprov(_AGENT_EXTRAS)})

    def used(record: ProvRecord, attrs: _Attributes) -> None:
        activity_id, entity_id = _formal(record, "activity", "entity")
        add("used", {"activity_id": activity_id, "entity_id": entity_id, "role": attrs.text(_P + "role"),
                     "time": attrs.time(_P + "time"),
                     "usagedescription_id": attrs.text(_V + "usageDescription")})

    def generation(record: ProvRecord, attrs: _Attributes) -> None:
        entity_id = _required(record, "entity")
        time = attrs.time(_P + "time")
        if time is not None:
            generation_time[entity_id] = time
        activity_id = _optional(record, "activity")
        if activity_id is not None:
            add("wasgeneratedby", {"entity_id": entity_id, "activity_id": activity_id,
                                   "role": attrs.text(_P + "role"),
                                   "generationdescription_id": attrs.text(_V + "generationDescription")})

    def invalidation(record: ProvRecord, attrs: _Attributes) -> None:
        time = attrs.time(_P + "time")
        if time is not None:
            invalidation_time[_required(record, "entity")] = time

    def derivation(record: ProvRecord, attrs: _Attributes) -> None:
        generated, used_entity = _formal(record, "generatedEntity", "usedEntity")
        add("wasderivedfrom", {"generatedentity_id": generated, "usedentity_id": used_entity,
                               "activity_id": _optional(record, "activity")})

    def communication(record: ProvRecord, attrs: _Attributes) -> None:
        informed, informant = _formal(record, "informed", "informant")
        add("wasinformedby", {"informed_id": informed, "informant_id": informant})

    def association(record: ProvRecord, attrs: _Attributes) -> None:
        activity_id, agent_id = _formal(record, "activity", "agent")
        add("wasassociatedwith", {"activity_id": activity_id, "agent_id": agent_id,
                                  "role": attrs.text(_P + "role")})

    def attribution(record: ProvRecord, attrs: _Attributes) -> None:
        entity_id, agent_id = _formal(record, "entity", "agent")
        add("wasattributedto", {"entity_id": entity_id, "agent_id": agent_id, "role": attrs.text(_P + "role")})

    def membership(record: ProvRecord, attrs: _Attributes) -> None:
        collection, member = _formal(record, "collection", "entity")
        add("hadmember", {"collection_id": collection, "entity_id": member})

    def influence(record: ProvRecord, attrs: _Attributes) -> None:
        if _V + "WasConfiguredBy" not in attrs.types:
            raise ProvMappingError(f"plain wasInfluencedBy: {_UNSUPPORTED}")
        activity_id, artefact = _formal(record, "influencee", "influencer")
        attached[artefact] = activity_id

    handlers.update({
        ProvEntity: entity, ProvActivity: activity, ProvAgent: agent, ProvUsage: used,
        ProvGeneration: generation, ProvInvalidation: invalidation, ProvDerivation: derivation,
        ProvCommunication: communication, ProvAssociation: association, ProvAttribution: attribution,
        ProvMembership: membership, ProvInfluence: influence,
    })
    for record in _records(unified):
        handler = handlers.get(type(record))
        if handler is None:
            raise ProvMappingError(f"{_describe(record)}: {_UNSUPPORTED}")
        try:
            handler(record, _Attributes(record))
        except ProvMappingError as exc:
            raise ProvMappingError(f"{_describe(record)}: {exc}") from None

    for ident, (table, row) in configuration.items():
        activity_id = attached.get(ident)
        if activity_id is None:
            raise ProvMappingError(f"{table} {ident}: no wasInfluencedBy (voprov:WasConfiguredBy) ties it "
                                   "to an activity")
        add(table, {"activity_id": activity_id, **row})
    unattached = set(attached) - set(configuration)
    if unattached:
        name = sorted(unattached)[0]
        raise ProvMappingError(f"wasInfluencedBy {name}: the configuring entity is not a voprov:Parameter or "
                               "voprov:ConfigFile")
    declared = {row["id"]: row for row in rows.get("entity", [])}
    referenced: dict[str, Row] = {}
    for column, times in (("generatedattime", generation_time), ("invalidatedattime", invalidation_time)):
        for entity_id, time in times.items():
            target = declared.get(entity_id)
            if target is None:
                target = referenced.setdefault(entity_id, {})
            target[column] = time
    return Imported(graph=ProvGraph(rows=rows), referenced_entity_times=referenced)


def _records(bundle: ProvBundle) -> list[ProvRecord]:
    return list(bundle.get_records())


def _local(record: ProvRecord) -> str:
    assert record.identifier is not None
    return str(record.identifier.localpart) or identifier_of(record.identifier.uri)


def _formal_value(record: ProvRecord, name: str) -> str | None:
    for attr, value in record.formal_attributes:
        if attr.localpart == name:
            return _ref(value) if value is not None else None
    raise ProvMappingError(f"no attribute prov:{name}")


def _required(record: ProvRecord, name: str) -> str:
    value = _formal_value(record, name)
    if value is None:
        raise ProvMappingError(f"prov:{name} is missing")
    return value


def _optional(record: ProvRecord, name: str) -> str | None:
    return _formal_value(record, name)


def _formal(record: ProvRecord, first: str, second: str) -> tuple[str, str]:
    return _required(record, first), _required(record, second)
