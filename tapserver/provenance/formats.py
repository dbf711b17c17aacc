"""ProvSAP response formats: PROV-JSON, PROV-N, PROV-XML (W3C, through the ``prov`` library), PROV-VOTABLE and
an SVG drawing. One registry serves parameter parsing, rendering and the documentation."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tapserver.provenance import svg, votable
from tapserver.provenance.graph import TABLES, ProvGraph
from tapserver.provenance.mapping import Model, to_prov_json
from tapserver.provenance.storage import Direction

if TYPE_CHECKING:
    from prov.model import ProvDocument

# The tables of the W3C core: what PROV-VOTABLE carries with MODEL=W3C.
W3C_TABLES = ("entity", "activity", "agent", "used", "wasgeneratedby", "wasderivedfrom", "wasinformedby",
              "wasassociatedwith", "wasattributedto", "hadmember")


@dataclass(frozen=True)
class RenderContext:
    model: Model
    direction: Direction
    info: Mapping[str, str]


@dataclass(frozen=True)
class ResponseFormat:
    name: str
    media_type: str
    aliases: tuple[str, ...]
    render: Callable[[ProvGraph, RenderContext], bytes]
    details: bool = True  # needs description and configuration rows (for MODEL=IVOA)
    max_nodes: int | None = None  # largest answer this format renders (None: the service's limit)


def prov_json_text(graph: ProvGraph, model: Model) -> str:
    return json.dumps(to_prov_json(graph, model), ensure_ascii=False, separators=(",", ":"))


def prov_document(graph: ProvGraph, model: Model) -> ProvDocument:
    """The graph as a ``prov`` library document (built from its PROV-JSON)."""
    from prov.model import ProvDocument  # here: PROV-JSON, PROV-VOTABLE and SVG answers need no prov

    return ProvDocument.deserialize(content=prov_json_text(graph, model), format="json")


def _json(graph: ProvGraph, context: RenderContext) -> bytes:
    return prov_json_text(graph, context.model).encode()


def _provn(graph: ProvGraph, context: RenderContext) -> bytes:
    text = prov_document(graph, context.model).serialize(format="provn")
    assert text is not None
    return text.encode()


def _xml(graph: ProvGraph, context: RenderContext) -> bytes:
    text = prov_document(graph, context.model).serialize(format="xml")
    assert text is not None
    return text.encode()


def _votable(graph: ProvGraph, context: RenderContext) -> bytes:
    tables = W3C_TABLES if context.model is Model.W3C else tuple(TABLES)
    return votable.render_votable(graph, tables, context.info)


def _svg(graph: ProvGraph, context: RenderContext) -> bytes:
    return svg.render_svg(graph)


# PROV-N and PROV-XML go through the prov library's document model, about 0.2 ms per record (bench.provsap:
# minutes for a 200,000-node answer); above this the service asks for PROV-JSON or PROV-VOTABLE instead.
PROV_LIBRARY_MAX_NODES = 50_000
# A drawing of more nodes is unreadable and slow in browsers.
SVG_MAX_NODES = 2_000

FORMATS: tuple[ResponseFormat, ...] = (
    ResponseFormat("PROV-JSON", "application/json", ("application/json", "json"), _json),
    ResponseFormat("PROV-N", "text/provenance-notation; charset=utf-8",
                   ("text/provenance-notation", "provn"), _provn, max_nodes=PROV_LIBRARY_MAX_NODES),
    ResponseFormat("PROV-XML", "application/provenance+xml",
                   ("application/provenance+xml", "application/xml", "text/xml", "xml"), _xml,
                   max_nodes=PROV_LIBRARY_MAX_NODES),
    ResponseFormat("PROV-VOTABLE", votable.MEDIA_TYPE,
                   (votable.MEDIA_TYPE, "application/x-votable+xml;content=prov", "votable"), _votable),
    ResponseFormat("PROV-SVG", svg.MEDIA_TYPE, (svg.MEDIA_TYPE, "svg"), _svg, details=False,
                   max_nodes=SVG_MAX_NODES),
)
DEFAULT_FORMAT = FORMATS[0]


def find_format(value: str | None) -> ResponseFormat | None:
    """The format named by a RESPONSEFORMAT value (name or alias, any case); the default for None/empty."""
    if value is None or not value.strip():
        return DEFAULT_FORMAT
    wanted = value.strip().lower()
    for fmt in FORMATS:
        if wanted == fmt.name.lower() or wanted in (alias.lower() for alias in fmt.aliases):
            return fmt
    return None
