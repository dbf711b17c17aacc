"""PROV-VOTable: the answer as one VOTable TABLE per ProvTAP table (the pre-REC PROV-VOTable idea, with the
ProvTAP table and column names), FIELDs from the catalog, so the tables read like the result of ADQL queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tapserver import __version__
from tapserver.provenance.graph import TABLES, ProvGraph
from tapserver.votable import xmlutil
from tapserver.votable.document import VOTABLE_OPEN, XML_DECLARATION, info_element
from tapserver.votable.fields import ResultColumn, render_field

MEDIA_TYPE = "application/x-votable+xml"


def _cell(value: Any) -> str:
    if value is None:
        return "<TD/>"
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, bool):
        text = "T" if value else "F"
    else:
        text = str(value)
    return f"<TD>{xmlutil.text(text)}</TD>"


def render_votable(graph: ProvGraph, tables: Iterable[str], info: Mapping[str, str]) -> bytes:
    """The document: RESOURCE type="results" with QUERY_STATUS=OK, the request INFOs, then one TABLE per
    name in ``tables`` (empty tables included, so a reader always finds the same structure)."""
    parts = [XML_DECLARATION, VOTABLE_OPEN, '<RESOURCE type="results" utype="voprov:ProvenanceDocument">\n',
             info_element("QUERY_STATUS", "OK"), info_element("server_software", f"tapserver {__version__}")]
    parts += [info_element(name, value) for name, value in info.items()]
    for name in tables:
        table = TABLES[name]
        parts.append(f'<TABLE name="{xmlutil.attr(name)}" utype="{xmlutil.attr(table.utype or "")}">\n')
        if table.description:
            parts.append(f"<DESCRIPTION>{xmlutil.text(table.description)}</DESCRIPTION>\n")
        for column in table.columns:
            result = ResultColumn(name=column.name, datatype=column.datatype, arraysize=column.arraysize,
                                  xtype=column.xtype, unit=column.unit, ucd=column.ucd, utype=column.utype,
                                  description=column.description)
            parts.append(render_field(result, f"{name}.{column.name}") + "\n")
        parts.append("<DATA><TABLEDATA>\n")
        names = [column.name for column in table.columns]
        for row in graph.table(name):
            parts.append("<TR>" + "".join(_cell(row.get(column)) for column in names) + "</TR>\n")
        parts.append("</TABLEDATA></DATA>\n</TABLE>\n")
    parts.append("</RESOURCE>\n</VOTABLE>\n")
    return "".join(parts).encode()
