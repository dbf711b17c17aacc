"""An SVG drawing of a provenance graph, laid out in layers without graphviz.

Every PROV relation points from the later record to the earlier one, so layers follow the longest chain of
relations (:func:`time_ranks`) and time runs left to right: progenitors on the left, descendants on the
right, agents just left of what they are responsible for. Nodes within a layer
are ordered by the barycentre of their neighbours (a few sweeps), which removes most crossings on the
chain-like graphs of data processing. Shapes and colours follow the W3C PROV diagrams: yellow ellipses for
entities, blue rectangles for activities, orange "houses" for agents. Every node is a ``<g class="node ...">``
with its identifier in ``data-id`` and a ``<title>`` tooltip; every relation a ``<g class="edge ...">``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from lxml import etree

from tapserver.provenance.graph import Link, NodeKind, NodeRef, ProvGraph, Row
from tapserver.votable.xmlutil import clean

MEDIA_TYPE = "image/svg+xml"
SVG_NS = "http://www.w3.org/2000/svg"

_CHAR_WIDTH = 6.6  # px per character at 12 px sans-serif (a generous average)
_MAX_LABEL = 38
_NODE_HEIGHT = 40.0
_MIN_WIDTH = 90.0
_LAYER_GAP = 110.0
_ROW_GAP = 18.0
_MARGIN = 30.0
_SWEEPS = 4

_STYLE = """
.node text { font: 12px sans-serif; text-anchor: middle; dominant-baseline: central; }
.node .sub { font-size: 9px; fill: #444; }
.entity ellipse { fill: #fffc87; stroke: #808080; }
.activity rect { fill: #9fb1fc; stroke: #0000ff; }
.agent polygon { fill: #fed37f; stroke: #000; }
.seed ellipse, .seed rect, .seed polygon { stroke-width: 3; }
.edge path { fill: none; stroke: #555; stroke-width: 1.2; marker-end: url(#arrow); }
.edge.wasDerivedFrom path, .edge.wasInformedBy path { stroke-dasharray: 5 3; }
.edge.wasAssociatedWith path, .edge.wasAttributedTo path { stroke: #c08000; }
.edge text { font: 9px sans-serif; fill: #555; text-anchor: middle; }
"""

_RELATION_NAMES = {
    "wasgeneratedby": "wasGeneratedBy", "used": "used", "wasderivedfrom": "wasDerivedFrom",
    "wasinformedby": "wasInformedBy", "wasassociatedwith": "wasAssociatedWith",
    "wasattributedto": "wasAttributedTo", "hadmember": "hadMember",
}


@dataclass
class _Box:
    node: NodeRef
    label: str
    subtitle: str
    tooltip: str
    layer: int
    width: float
    x: float = 0.0
    y: float = 0.0


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else "…" + text[-(_MAX_LABEL - 1):]


def _describe(kind: NodeKind, row: Row) -> tuple[str, str, str]:
    """(label, subtitle, tooltip) of a node."""
    name = row.get("name")
    label = _short(name or row["id"])
    if kind is NodeKind.ENTITY:
        subtitle = row["entity_class"]
    elif kind is NodeKind.ACTIVITY:
        start = row.get("starttime")
        subtitle = start.isoformat(sep=" ", timespec="seconds") if start else "activity"
    else:
        subtitle = row.get("type") or "agent"
    details = [f"{kind.value} {row['id']}"]
    details += [f"{key}: {value}" for key, value in row.items()
                if key not in ("id",) and value is not None and not key.endswith("_id")]
    return label, subtitle, "\n".join(details)


def render_svg(graph: ProvGraph) -> bytes:
    """The SVG document of ``graph``."""
    rows = {NodeRef(kind, row["id"]): (kind, row) for kind in NodeKind for row in graph.table(kind.value)}
    links = [link for link in graph.links() if link.source in rows and link.target in rows]
    rank = time_ranks(sorted(rows), links)
    latest = max(rank.values(), default=0)
    boxes: dict[NodeRef, _Box] = {}
    for node in sorted(rows):
        kind, row = rows[node]
        label, subtitle, tooltip = _describe(kind, row)
        width = max(_MIN_WIDTH, _CHAR_WIDTH * max(len(label), len(subtitle) * 0.75) + 28)
        boxes[node] = _Box(node, label, subtitle, tooltip, latest - rank[node], width)
    _layout(boxes, links)
    return _draw(boxes, links, set(graph.seeds))


def time_ranks(nodes: list[NodeRef], links: list[Link]) -> dict[NodeRef, int]:
    """Longest chain of relations from a node that nothing refers to (the latest things) down to each node.

    Every PROV relation points from the later to the earlier record (entity -> generating activity ->
    used entity, agent and members on the earlier side), so drawing rank r at column (max - r) makes time run
    left to right. Kahn's algorithm; a cycle (a malformed graph) is broken at the node with the fewest
    unprocessed references.
    """
    successors: dict[NodeRef, list[NodeRef]] = defaultdict(list)
    pending = dict.fromkeys(nodes, 0)
    for link in links:
        if link.source != link.target:
            successors[link.source].append(link.target)
            pending[link.target] += 1
    rank = dict.fromkeys(nodes, 0)
    ready = deque(node for node in nodes if pending[node] == 0)
    done: set[NodeRef] = set()
    while len(done) < len(nodes):
        if not ready:
            ready.append(min((n for n in nodes if n not in done), key=lambda n: (pending[n], n)))
        node = ready.popleft()
        if node in done:
            continue
        done.add(node)
        for target in successors[node]:
            if target in done:
                continue
            rank[target] = max(rank[target], rank[node] + 1)
            pending[target] -= 1
            if pending[target] == 0:
                ready.append(target)
    return rank


def _layout(boxes: dict[NodeRef, _Box], links: list[Link]) -> None:
    layers: dict[int, list[_Box]] = defaultdict(list)
    for box in boxes.values():
        layers[box.layer].append(box)
    neighbours: dict[NodeRef, list[NodeRef]] = defaultdict(list)
    for link in links:
        neighbours[link.source].append(link.target)
        neighbours[link.target].append(link.source)
    order = sorted(layers)
    position = {box.node: float(i) for layer in order for i, box in enumerate(layers[layer])}
    for sweep in range(_SWEEPS):
        for layer in order if sweep % 2 == 0 else reversed(order):
            members = layers[layer]

            def barycentre(box: _Box) -> float:
                near = [position[n] for n in neighbours[box.node] if boxes[n].layer != box.layer]
                return sum(near) / len(near) if near else position[box.node]

            members.sort(key=lambda box: (barycentre(box), box.node))
            for i, box in enumerate(members):
                position[box.node] = float(i)
    heights = {layer: len(layers[layer]) * (_NODE_HEIGHT + _ROW_GAP) - _ROW_GAP for layer in order}
    tallest = max(heights.values(), default=0.0)
    x = _MARGIN
    for layer in order:
        column_width = max(box.width for box in layers[layer])
        y = _MARGIN + (tallest - heights[layer]) / 2
        for box in layers[layer]:
            box.x = x + (column_width - box.width) / 2
            box.y = y
            y += _NODE_HEIGHT + _ROW_GAP
        x += column_width + _LAYER_GAP


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}", {k.replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        element.text = clean(text)
    return element


def _f(value: float) -> str:
    return f"{value:.1f}"


def _draw(boxes: dict[NodeRef, _Box], links: list[Link], seeds: set[NodeRef]) -> bytes:
    width = max((box.x + box.width for box in boxes.values()), default=0.0) + _MARGIN
    height = max((box.y + _NODE_HEIGHT for box in boxes.values()), default=0.0) + _MARGIN
    root = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS}, version="1.1",
                         width=_f(width), height=_f(height), viewBox=f"0 0 {_f(width)} {_f(height)}")
    _sub(root, "title", "Provenance graph")
    _sub(root, "style", _STYLE)
    defs = _sub(root, "defs")
    marker = _sub(defs, "marker", id="arrow", viewBox="0 0 10 10", refX="10", refY="5", markerWidth="8",
                  markerHeight="8", orient="auto-start-reverse")
    _sub(marker, "path", d="M 0 0 L 10 5 L 0 10 z", fill="#555")
    edges = _sub(root, "g", **{"class": "edges"})
    for link in links:
        _draw_edge(edges, link, boxes[link.source], boxes[link.target])
    nodes = _sub(root, "g", **{"class": "nodes"})
    for index, box in enumerate(sorted(boxes.values(), key=lambda b: b.node)):
        classes = f"node {box.node.kind.value}" + (" seed" if box.node in seeds else "")
        group = _sub(nodes, "g", id=f"node{index}", **{"class": classes, "data-id": clean(box.node.id)})
        _sub(group, "title", box.tooltip)
        cx, cy = box.x + box.width / 2, box.y + _NODE_HEIGHT / 2
        if box.node.kind is NodeKind.ENTITY:
            _sub(group, "ellipse", cx=_f(cx), cy=_f(cy), rx=_f(box.width / 2), ry=_f(_NODE_HEIGHT / 2))
        elif box.node.kind is NodeKind.ACTIVITY:
            _sub(group, "rect", x=_f(box.x), y=_f(box.y), width=_f(box.width), height=_f(_NODE_HEIGHT))
        else:
            top, roof, right, bottom = box.y, box.y + 10, box.x + box.width, box.y + _NODE_HEIGHT
            points = (f"{_f(box.x)},{_f(roof)} {_f(cx)},{_f(top)} {_f(right)},{_f(roof)} "
                      f"{_f(right)},{_f(bottom)} {_f(box.x)},{_f(bottom)}")
            _sub(group, "polygon", points=points)
        _sub(group, "text", box.label, x=_f(cx), y=_f(cy - 5))
        _sub(group, "text", box.subtitle, x=_f(cx), y=_f(cy + 10), **{"class": "sub"})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _draw_edge(parent: etree._Element, link: Link, source: _Box, target: _Box) -> None:
    name = _RELATION_NAMES[link.table]
    group = _sub(parent, "g", **{"class": f"edge {name}"})
    role = link.row.get("role")
    _sub(group, "title", f"{name}({link.source.id}, {link.target.id})" + (f" role={role}" if role else ""))
    sy, ty = source.y + _NODE_HEIGHT / 2, target.y + _NODE_HEIGHT / 2
    if source.layer == target.layer:  # same column: an arc on the right-hand side
        sx = tx = source.x + source.width
        bulge = sx + 40 + abs(ty - sy) / 4
        d = f"M {_f(sx)} {_f(sy)} C {_f(bulge)} {_f(sy)} {_f(bulge)} {_f(ty)} {_f(tx)} {_f(ty)}"
        mx, my = bulge - 10, (sy + ty) / 2
    else:
        forward = target.x > source.x
        sx = source.x + source.width if forward else source.x
        tx = target.x if forward else target.x + target.width
        mid = (sx + tx) / 2
        d = f"M {_f(sx)} {_f(sy)} C {_f(mid)} {_f(sy)} {_f(mid)} {_f(ty)} {_f(tx)} {_f(ty)}"
        mx, my = mid, (sy + ty) / 2 - 4
    _sub(group, "path", d=d)
    _sub(group, "text", name + (f" ({role})" if role else ""), x=_f(mx), y=_f(my))
