"""VOSI tables (VODataService 1.1 tableset) rendered from the catalog, i.e. from TAP_SCHEMA."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from cachetools import LRUCache
from lxml import etree

from tapserver.catalog.identifiers import adql_name
from tapserver.catalog.model import Catalog, Column, ForeignKey, Schema, Table

VOSI_TABLES = "http://www.ivoa.net/xml/VOSITables/v1.0"
VS = "http://www.ivoa.net/xml/VODataService/v1.1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {"vosi": VOSI_TABLES, "vs": VS, "xsi": XSI}


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _column(parent: etree._Element, c: Column) -> None:
    col = _sub(parent, "column", **({"std": "true"} if c.std else {}))
    _sub(col, "name", c.listed_name)
    for tag, value in (("description", c.description), ("unit", c.unit), ("ucd", c.ucd), ("utype", c.utype)):
        if value:
            _sub(col, tag, value)
    attrs = {f"{{{XSI}}}type": "vs:VOTableType"}
    if c.arraysize:
        attrs["arraysize"] = c.arraysize
    if c.xtype:
        attrs["extendedType"] = c.xtype
    _sub(col, "dataType", c.datatype, **attrs)
    if c.indexed:
        _sub(col, "flag", "indexed")
    if c.principal:
        _sub(col, "flag", "principal")
    if c.nullable:
        _sub(col, "flag", "nullable")


def _foreign_key(parent: etree._Element, fk: ForeignKey) -> None:
    element = _sub(parent, "foreignKey")
    _sub(element, "targetTable", fk.target_table)
    for from_column, target_column in fk.columns:
        pair = _sub(element, "fkColumn")
        _sub(pair, "fromColumn", adql_name(from_column))
        _sub(pair, "targetColumn", adql_name(target_column))
    if fk.description:
        _sub(element, "description", fk.description)
    if fk.utype:
        _sub(element, "utype", fk.utype)


def _table(parent: etree._Element, t: Table, detail: bool, nrows: int | None) -> None:
    element = _sub(parent, "table", type="view" if t.table_type == "view" else "table")
    _sub(element, "name", t.qualified)
    if t.description:
        _sub(element, "description", t.description)
    if t.utype:
        _sub(element, "utype", t.utype)
    if nrows is not None:  # VODataService 1.2: approximate size, after utype and before the columns
        _sub(element, "nrows", str(nrows))
    if detail:
        for c in t.columns:
            _column(element, c)
        for fk in t.foreign_keys:
            _foreign_key(element, fk)


def _schema(parent: etree._Element, s: Schema, detail: bool, nrows: Mapping[str, int]) -> None:
    element = _sub(parent, "schema")
    _sub(element, "name", s.name)
    if s.description:
        _sub(element, "description", s.description)
    if s.utype:
        _sub(element, "utype", s.utype)
    for t in s.tables:
        _table(element, t, detail, nrows.get(t.qualified))


#: The last rendered /tables documents: (catalog, detail, row counts) -> bytes. A catalog is immutable and a
#: reloaded TAP_SCHEMA gives a new Catalog object, so identity is the key (the entry holds the catalog alive,
#: so that its id is not reused while the entry lives).
_TABLESETS: LRUCache[tuple[int, bool, tuple[tuple[str, int], ...]], tuple[Catalog, bytes]] = LRUCache(maxsize=8)
_TABLESETS_LOCK = threading.Lock()  # cachetools caches are not thread-safe


def render_tableset(catalog: Catalog, *, detail: bool = True, nrows: Mapping[str, int] | None = None) -> bytes:
    """The /tables document; ``detail=False`` (detail=min) leaves out columns and foreign keys. ``nrows``:
    approximate row counts by qualified table name (VODataService ``nrows``).

    Rendered once per catalog and counts (a full tableset takes milliseconds of lxml work, and clients such as
    TOPCAT fetch it on every connection); later calls with the same catalog return the same bytes.
    """
    counts = dict(nrows or {})
    key = (id(catalog), detail, tuple(sorted(counts.items())))
    with _TABLESETS_LOCK:
        cached = _TABLESETS.get(key)
    if cached is not None and cached[0] is catalog:
        return cached[1]
    document = _render_tableset(catalog, detail, counts)
    with _TABLESETS_LOCK:
        _TABLESETS[key] = (catalog, document)
    return document


def _render_tableset(catalog: Catalog, detail: bool, nrows: Mapping[str, int]) -> bytes:
    root = etree.Element(f"{{{VOSI_TABLES}}}tableset", nsmap=_NSMAP)
    for s in catalog.schemas:
        _schema(root, s, detail, nrows)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def render_table(table: Table, nrows: int | None = None) -> bytes:
    """The /tables/{name} document: one table with full detail (and its approximate row count)."""
    root = etree.Element(f"{{{VOSI_TABLES}}}table", {"type": "table"}, nsmap=_NSMAP)
    _sub(root, "name", table.qualified)
    if table.description:
        _sub(root, "description", table.description)
    if table.utype:
        _sub(root, "utype", table.utype)
    if nrows is not None:
        _sub(root, "nrows", str(nrows))
    for c in table.columns:
        _column(root, c)
    for fk in table.foreign_keys:
        _foreign_key(root, fk)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
