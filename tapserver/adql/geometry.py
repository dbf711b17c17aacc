"""ADQL geometry on pgsphere: degrees outside, radians inside.

POINT -> spoint, CIRCLE -> scircle, POLYGON and BOX -> spoly, CONTAINS -> ``<@``, INTERSECTS -> ``&&``,
DISTANCE -> ``<->``. ``POINT(a, b)`` is always ``spoint(radians(a), radians(b))``: the expression of the
GiST index on ivoa.obscore, so that cone searches use it. Geometries in the output are DALI arrays in
degrees, or STC-S text for columns declared as adql:REGION.

pgsphere 1.2 has no accessor for the vertices of an spoly: they are read from its text form, which is
in radians unless ``set_sphere_output`` changed it for the session (the query role cannot call it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import sqlglot
from sqlglot import exp

from tapserver.adql.dialect import SphereOp
from tapserver.adql.metadata import Meta
from tapserver.adql.sqltypes import DOUBLE, SCIRCLE, SPOINT, SPOLY, TEXT, SqlType
from tapserver.adql.values import Call, Value, cast, check_types, fn, number, paren, predicate_value

DEG = Meta(unit="deg")
# Prefix of the aliases inside generated subqueries: the translator never gives such an alias to a FROM
# item, so a geometry placed inside them cannot be captured by a name of theirs.
TEMPLATE_PREFIX = "adql_"

_REFPOS = {"BARYCENTER", "GEOCENTER", "TOPOCENTER", "HELIOCENTER", "LSR", "UNKNOWNREFPOS", "SPHERICAL2"}


def check_frame(call: Call, value: Value) -> None:
    """Accept ICRS (optionally with a reference position) or an empty string; refuse anything else."""
    if not value.is_string_literal:
        raise call.fail(f"{call.name}: the coordinate system must be a string literal such as 'ICRS'")
    words = str(value.const).upper().split()
    if words and (words[0] != "ICRS" or any(w not in _REFPOS for w in words[1:])):
        raise call.fail(f"{call.name}: unsupported coordinate system {value.const!r}: "
                        "this service has ICRS coordinates only (use 'ICRS' or '')")


def _without_frame(call: Call, counts: tuple[int, ...]) -> list[Value]:
    """The arguments after an optional leading coordinate-system string."""
    args = call.args
    if args and args[0].type.category == "text" and (len(args) - 1 in counts or not counts):
        check_frame(call, args[0])
        return args[1:]
    return args


def _spoint_deg(lon: exp.Expr, lat: exp.Expr) -> exp.Expr:
    return fn("spoint", fn("radians", lon), fn("radians", lat))


def _numbers(call: Call, values: list[Value], what: str = "numbers") -> None:
    check_types(call, values, "numeric", what)


def _points(call: Call, values: list[Value]) -> None:
    for v in values:
        if v.type.name not in ("spoint", "null"):
            raise call.fail(f"{call.name} expects points here, not {v.type}")


def _constants(call: Call, values: Sequence[Value]) -> tuple[float, ...] | None:
    """The values as finite floats when they are all numeric constants, else None."""
    numbers = tuple(v.number for v in values)
    if any(n is None for n in numbers):
        return None
    if not all(math.isfinite(n) for n in numbers if n is not None):
        raise call.fail(f"{call.name}: coordinates must be finite numbers")
    return tuple(n for n in numbers if n is not None)


def _latitudes(call: Call, latitudes: Sequence[Value]) -> None:
    """Refuse a constant latitude outside [-90, 90] degrees (pgsphere would fold it silently)."""
    for value in latitudes:
        if value.number is not None and not -90 <= value.number <= 90:
            raise call.fail(f"{call.name}: the latitude {value.number:g} is outside -90..90 degrees")


def point(call: Call) -> Value:
    """POINT([frame,] lon, lat)."""
    args = _without_frame(call, (2,))
    if len(args) != 2:
        raise call.fail("POINT takes a longitude and a latitude (after an optional coordinate system)")
    _numbers(call, args, "a longitude and a latitude in degrees")
    _latitudes(call, args[1:])
    coords = _constants(call, args)
    return call.value(_spoint_deg(args[0].sql, args[1].sql), SPOINT, DEG, coords=coords)


def circle(call: Call) -> Value:
    """CIRCLE([frame,] lon, lat, radius) or CIRCLE([frame,] point, radius)."""
    args = _without_frame(call, (2, 3))
    radius = args[-1] if args else None
    if len(args) == 3:
        _numbers(call, args, "a longitude, a latitude and a radius in degrees")
        _latitudes(call, args[1:2])
        center = _spoint_deg(args[0].sql, args[1].sql)
        coords = _constants(call, args)
    elif len(args) == 2:
        _points(call, args[:1])
        _numbers(call, args[1:], "a radius in degrees")
        center = args[0].sql
        r = _constants(call, args[1:])
        coords = args[0].coords + r if args[0].coords is not None and r is not None else None
    else:
        raise call.fail("CIRCLE takes a center (a point, or longitude and latitude) and a radius")
    assert radius is not None
    if radius.number is not None and not 0 <= radius.number <= 90:
        raise call.fail("CIRCLE: the radius must be between 0 and 90 degrees")
    return call.value(fn("scircle", center, fn("radians", radius.sql)), SCIRCLE, DEG, coords=coords)


def _spoly(vertices: Sequence[tuple[Value, Value] | Value], coords: tuple[float, ...] | None) -> exp.Expr:
    """An spoly from (lon, lat) pairs in degrees or from points, through pgsphere's text input."""
    if coords is not None:
        pairs = zip(coords[::2], coords[1::2], strict=True)
        return cast(exp.Literal.string("{" + ",".join(f"({lon!r}d,{lat!r}d)" for lon, lat in pairs) + "}"),
                    "spoly")
    pieces: list[exp.Expr] = []
    for index, vertex in enumerate(vertices):
        if isinstance(vertex, tuple):
            lon, lat = cast(fn("radians", vertex[0].sql), "TEXT"), cast(fn("radians", vertex[1].sql), "TEXT")
        else:
            lon, lat = cast(fn("long", vertex.sql), "TEXT"), cast(fn("lat", vertex.sql), "TEXT")
        opening = "{(" if index == 0 else ",("
        pieces += [exp.Literal.string(opening), lon, exp.Literal.string(","), lat, exp.Literal.string(")")]
    pieces.append(exp.Literal.string("}"))
    text_sql: exp.Expr = pieces[0]
    for piece in pieces[1:]:
        text_sql = exp.DPipe(this=text_sql, expression=piece)
    return cast(exp.Paren(this=text_sql), "spoly")


def polygon(call: Call) -> Value:
    """POLYGON([frame,] lon1, lat1, lon2, lat2, ...) or POLYGON([frame,] point1, point2, ...)."""
    args = _without_frame(call, ())
    if args and all(a.type == SPOINT for a in args):
        if len(args) < 3:
            raise call.fail("POLYGON needs at least three vertices")
        points = [a.coords for a in args]
        coords = tuple(c for p in points if p is not None for c in p) if None not in points else None
        return call.value(_spoly(args, coords), SPOLY, DEG, coords=coords)
    _numbers(call, args, "vertex coordinates in degrees (or points)")
    if len(args) < 6 or len(args) % 2:
        raise call.fail("POLYGON needs at least three vertices given as longitude, latitude pairs")
    _latitudes(call, args[1::2])
    coords = _constants(call, args)
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args), 2)]
    return call.value(_spoly(pairs, coords), SPOLY, DEG, coords=coords)


def box(call: Call) -> Value:
    """BOX([frame,] lon, lat, width, height) or BOX([frame,] point, width, height): a 4-vertex polygon
    whose vertices are the center +/- half the sizes along each coordinate."""
    args = _without_frame(call, (3, 4))
    if len(args) == 4:
        _numbers(call, args, "a center, a width and a height in degrees")
        _latitudes(call, args[1:2])
        lon, lat = args[0], args[1]
    elif len(args) == 3:
        _points(call, args[:1])
        _numbers(call, args[1:], "a width and a height in degrees")
        center = args[0]
        if center.coords is not None:
            lon = Value(number(center.coords[0]), DOUBLE, const=center.coords[0])
            lat = Value(number(center.coords[1]), DOUBLE, const=center.coords[1])
        else:
            lon = Value(fn("degrees", fn("long", center.sql)), DOUBLE)
            lat = Value(fn("degrees", fn("lat", center.sql)), DOUBLE)
    else:
        raise call.fail("BOX takes a center (a point, or longitude and latitude), a width and a height")
    width, height = args[-2], args[-1]
    corners = [(_offset(lon, width, sx), _offset(lat, height, sy))
               for sx, sy in ((-1, -1), (-1, 1), (1, 1), (1, -1))]
    coords = _constants(call, [c for pair in corners for c in pair])
    return call.value(_spoly(corners, coords), SPOLY, DEG, coords=coords)


def _offset(center: Value, size: Value, sign: int) -> Value:
    """center + sign * size / 2, folded when both are literals."""
    if center.number is not None and size.number is not None:
        value = center.number + sign * size.number / 2
        return Value(number(value), DOUBLE, const=value)
    op = exp.Add if sign > 0 else exp.Sub
    half = exp.Div(this=paren(size.sql), expression=exp.Literal.number("2.0"), typed=True)
    return Value(exp.Paren(this=op(this=paren(center.sql), expression=half)), DOUBLE)


_STCS_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def region(call: Call) -> Value:
    """REGION('STC-S'): Position, Circle, Polygon or Box, in ICRS."""
    if len(call.args) != 1 or not call.args[0].is_string_literal:
        raise call.fail("REGION takes one string literal in STC-S, e.g. 'Circle ICRS 10 20 1'")
    words = str(call.args[0].const).split()
    if not words:
        raise call.fail("REGION: empty STC-S string")
    shape, rest = words[0].lower(), words[1:]
    builders = {"position": (point, 2), "circle": (circle, 3), "box": (box, 4), "polygon": (polygon, None)}
    if shape not in builders:
        raise call.fail(f"REGION: unsupported STC-S shape {words[0]!r} "
                        "(Position, Circle, Polygon and Box are supported)")
    frame: list[str] = []
    while rest and not re.fullmatch(_STCS_NUMBER, rest[0]):
        frame.append(rest.pop(0))
    check_frame(call, Value(exp.Null(), TEXT, const=" ".join(frame)))
    if not all(re.fullmatch(_STCS_NUMBER, w) for w in rest):
        raise call.fail(f"REGION: cannot read {' '.join(words)!r} (only Position, Circle, Polygon and Box "
                        "with numeric coordinates are supported)")
    numbers = [Value(number(float(w)), DOUBLE, const=float(w)) for w in rest]
    inner = Call(name=shape.upper(), args=numbers, fail=call.fail)
    build, count = builders[shape]
    if count is not None and len(numbers) != count:
        raise call.fail(f"REGION: {words[0]} takes {count} numbers")
    result = build(inner)
    result.name = "region"
    return result


def _geometries(call: Call, count: int) -> list[Value]:
    if len(call.args) != count:
        raise call.fail(f"{call.name} takes {count} geometr{'y' if count == 1 else 'ies'}")
    for v in call.args:
        if not v.type.is_geometry and v.type.name != "null":
            raise call.fail(f"{call.name} expects geometries (POINT, CIRCLE, POLYGON, BOX, REGION), "
                            f"not {v.type}")
    return call.args


def sphere_op(left: exp.Expr, op: str, right: exp.Expr) -> exp.Expr:
    return SphereOp(this=paren(left), expression=paren(right), op=op)


def contains(call: Call) -> Value:
    """CONTAINS(a, b): 1 if a lies inside b (``a <@ b``)."""
    a, b = _geometries(call, 2)
    if b.type == SPOINT:
        raise call.fail("CONTAINS: the second argument must be a region (CIRCLE, POLYGON, BOX or REGION), "
                        "not a POINT")
    return predicate_value(call, sphere_op(a.sql, "<@", b.sql))


def intersects(call: Call) -> Value:
    """INTERSECTS(a, b): 1 if a and b overlap (``&&``; for a point, containment)."""
    a, b = _geometries(call, 2)
    if a.type == SPOINT and b.type == SPOINT:
        predicate: exp.Expr = exp.EQ(this=paren(a.sql), expression=paren(b.sql))
    elif a.type == SPOINT:
        predicate = sphere_op(a.sql, "<@", b.sql)
    elif b.type == SPOINT:
        predicate = sphere_op(b.sql, "<@", a.sql)
    else:
        predicate = sphere_op(a.sql, "&&", b.sql)
    return predicate_value(call, predicate)


def distance(call: Call) -> Value:
    """DISTANCE(p1, p2) or DISTANCE(lon1, lat1, lon2, lat2): great-circle distance in degrees."""
    args = call.args
    if len(args) == 4:
        _numbers(call, args, "two longitude, latitude pairs in degrees")
        p, q = _spoint_deg(args[0].sql, args[1].sql), _spoint_deg(args[2].sql, args[3].sql)
    elif len(args) == 2:
        _points(call, args)
        p, q = args[0].sql, args[1].sql
    else:
        raise call.fail("DISTANCE takes two points or four numbers (lon1, lat1, lon2, lat2)")
    sql = fn("degrees", sphere_op(p, "<->", q))
    # For a cone, the point made of columns is the one tested against a circle around the other.
    first_has_columns = any(a.has_columns for a in args[:len(args) // 2])
    points = (p, q) if first_has_columns or not any(a.has_columns for a in args) else (q, p)
    return call.value(sql, DOUBLE, Meta(unit="deg", ucd="pos.angDistance"), points=points)


def cone(points: tuple[exp.Expr, exp.Expr], radius: exp.Expr) -> exp.Expr:
    """``p <@ scircle(q, radians(r))``: the index-friendly form of DISTANCE(p, q) <= r."""
    p, q = points
    return sphere_op(p.copy(), "<@", fn("scircle", q.copy(), fn("radians", radius.copy())))


def area(call: Call) -> Value:
    """AREA(g) in square degrees."""
    (g,) = _geometries(call, 1)
    inner = fn("scircle", g.sql, exp.Literal.number("0")) if g.type == SPOINT else g.sql
    sql = fn("degrees", fn("degrees", fn("area", inner)))
    return call.value(sql, DOUBLE, Meta(unit="deg**2", ucd="phys.angArea"))


def coord(call: Call) -> Value:
    """COORD1(p) / COORD2(p): longitude / latitude of a point, in degrees."""
    (p,) = _geometries(call, 1)
    if p.type.name not in ("spoint", "null"):
        raise call.fail(f"{call.name} expects a POINT, not {p.type}")
    first = call.name == "COORD1"
    sql = fn("degrees", fn("long" if first else "lat", p.sql))
    return call.value(sql, DOUBLE, Meta(unit="deg", ucd="pos.eq.ra" if first else "pos.eq.dec"))


def coordsys(call: Call) -> Value:
    """COORDSYS(g): 'ICRS' (every geometry of this service), NULL for NULL."""
    (g,) = _geometries(call, 1)
    sql = exp.Case(ifs=[exp.If(this=exp.Is(this=paren(g.sql), expression=exp.Null()), true=exp.Null())],
                   default=exp.Literal.string("ICRS"))
    return call.value(sql, TEXT)


def _template(sql: str) -> Callable[[exp.Expr], exp.Expr]:
    """A SQL fragment (ours, parsed once, on first use) with the placeholder ``adql_q.g`` replaced by a tree."""
    parsed: list[exp.Expr] = []

    def build(geometry: exp.Expr) -> exp.Expr:
        if not parsed:  # a race parses twice, alike
            parsed.append(sqlglot.parse_one(sql, read="postgres"))
        copy = parsed[0].copy()
        placeholders = [c for c in copy.find_all(exp.Column) if c.table == "adql_q" and c.name == "g"]
        for index, column in enumerate(placeholders):
            column.replace(geometry if index == len(placeholders) - 1 else geometry.copy())
        return copy

    return build


# Vertices of an spoly in degrees, in order, as a double precision[] (pgsphere prints radians).
_VERTICES = "unnest(CAST(string_to_array(translate(CAST(adql_q.g AS TEXT), '{}() ', ''), ',') " \
            "AS DOUBLE PRECISION[])) WITH ORDINALITY AS adql_u(adql_v, adql_n)"
_POLYGON_DALI = _template(
    f"CASE WHEN adql_q.g IS NULL THEN NULL ELSE ARRAY(SELECT degrees(adql_u.adql_v) FROM {_VERTICES} "
    "ORDER BY adql_u.adql_n) END"
)
_ROUNDED = "CAST(trim_scale(round(CAST({} AS NUMERIC), 10)) AS TEXT)"
_POLYGON_STCS = _template(
    "(SELECT 'Polygon ICRS ' || string_agg(" + _ROUNDED.format("degrees(adql_u.adql_v)")
    + f", ' ' ORDER BY adql_u.adql_n) FROM {_VERTICES})"
)
# Centroid of a spherical polygon: the direction of the integral of the position vector over its area,
# 1/2 * sum over the edges (a, b) of angle(a, b) * (a x b) / |a x b|, oriented towards the vertices.
_POLYGON_CENTROID = _template("""
(SELECT spoint(atan2(adql_r.k * adql_r.sy, adql_r.k * adql_r.sx),
               atan2(adql_r.k * adql_r.sz, sqrt(adql_r.sx * adql_r.sx + adql_r.sy * adql_r.sy)))
 FROM (SELECT adql_s.sx, adql_s.sy, adql_s.sz,
              CASE WHEN adql_s.sx * adql_s.mx + adql_s.sy * adql_s.my + adql_s.sz * adql_s.mz < 0
                   THEN -1 ELSE 1 END AS k
       FROM (SELECT sum(adql_w.w * adql_w.cx) AS sx, sum(adql_w.w * adql_w.cy) AS sy,
                    sum(adql_w.w * adql_w.cz) AS sz, sum(adql_w.x) AS mx, sum(adql_w.y) AS my, sum(adql_w.z) AS mz
             FROM (SELECT adql_c.x, adql_c.y, adql_c.z, adql_c.cx, adql_c.cy, adql_c.cz,
                          CASE WHEN adql_c.s = 0 THEN 0 ELSE atan2(adql_c.s, adql_c.d) / adql_c.s END AS w
                   FROM (SELECT adql_e.x, adql_e.y, adql_e.z, adql_e.cx, adql_e.cy, adql_e.cz, adql_e.d,
                                sqrt(adql_e.cx * adql_e.cx + adql_e.cy * adql_e.cy + adql_e.cz * adql_e.cz) AS s
                         FROM (SELECT adql_v.x, adql_v.y, adql_v.z,
                                      adql_v.y * adql_v.z2 - adql_v.z * adql_v.y2 AS cx,
                                      adql_v.z * adql_v.x2 - adql_v.x * adql_v.z2 AS cy,
                                      adql_v.x * adql_v.y2 - adql_v.y * adql_v.x2 AS cz,
                                      adql_v.x * adql_v.x2 + adql_v.y * adql_v.y2 + adql_v.z * adql_v.z2 AS d
                               FROM (SELECT adql_t.x, adql_t.y, adql_t.z,
                                            coalesce(lead(adql_t.x) OVER (ORDER BY adql_t.n),
                                                     first_value(adql_t.x) OVER (ORDER BY adql_t.n)) AS x2,
                                            coalesce(lead(adql_t.y) OVER (ORDER BY adql_t.n),
                                                     first_value(adql_t.y) OVER (ORDER BY adql_t.n)) AS y2,
                                            coalesce(lead(adql_t.z) OVER (ORDER BY adql_t.n),
                                                     first_value(adql_t.z) OVER (ORDER BY adql_t.n)) AS z2
                                     FROM (SELECT adql_p.adql_n AS n,
                                                  cos(CAST(adql_p.adql_m[2] AS DOUBLE PRECISION))
                                                    * cos(CAST(adql_p.adql_m[1] AS DOUBLE PRECISION)) AS x,
                                                  cos(CAST(adql_p.adql_m[2] AS DOUBLE PRECISION))
                                                    * sin(CAST(adql_p.adql_m[1] AS DOUBLE PRECISION)) AS y,
                                                  sin(CAST(adql_p.adql_m[2] AS DOUBLE PRECISION)) AS z
                                           FROM regexp_matches(CAST(adql_q.g AS TEXT),
                                                               '\\(([^,()]+),([^,()]+)\\)', 'g')
                                                WITH ORDINALITY AS adql_p(adql_m, adql_n)) AS adql_t) AS adql_v)
                               AS adql_e) AS adql_c) AS adql_w) AS adql_s) AS adql_r)
""")


def centroid(call: Call) -> Value:
    """CENTROID(g): a point; the center of a circle, the area centroid of a polygon."""
    (g,) = _geometries(call, 1)
    coords: tuple[float, ...] | None = None
    if g.type.name in ("spoint", "null"):
        sql, coords = g.sql, g.coords
    elif g.type == SCIRCLE:
        sql = fn("center", g.sql)
        coords = g.coords[:2] if g.coords is not None else None
    elif g.type == SPOLY and g.coords is not None:
        coords = polygon_centroid(g.coords)
        sql = _spoint_deg(number(coords[0]), number(coords[1]))
    elif g.type == SPOLY:
        sql = _POLYGON_CENTROID(g.sql)
    else:
        raise call.fail(f"CENTROID is not available for {g.type}")
    return call.value(sql, SPOINT, DEG, coords=coords)


def polygon_centroid(coords: Sequence[float]) -> tuple[float, float]:
    """(lon, lat) in degrees of the area centroid of a spherical polygon given by its vertices in degrees:
    the direction of sum over the edges (a, b) of angle(a, b) * (a x b) / |a x b| (Stokes), oriented
    towards the vertices; the same formula as the SQL of _POLYGON_CENTROID."""
    vectors = []
    for lon, lat in zip(coords[::2], coords[1::2], strict=True):
        lon, lat = math.radians(lon), math.radians(lat)
        vectors.append((math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)))
    total = [0.0, 0.0, 0.0]
    for (ax, ay, az), (bx, by, bz) in zip(vectors, vectors[1:] + vectors[:1], strict=True):
        cx, cy, cz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
        s = math.sqrt(cx * cx + cy * cy + cz * cz)
        w = math.atan2(s, ax * bx + ay * by + az * bz) / s if s else 0.0
        total = [total[0] + w * cx, total[1] + w * cy, total[2] + w * cz]
    if sum(t * sum(v[i] for v in vectors) for i, t in enumerate(total)) < 0:
        total = [-t for t in total]
    x, y, z = total
    lon = math.degrees(math.atan2(y, x)) % 360.0
    return lon, math.degrees(math.atan2(z, math.hypot(x, y)))


def _null_or(g: exp.Expr, value: exp.Expr) -> exp.Expr:
    return exp.Case(ifs=[exp.If(this=exp.Is(this=paren(g), expression=exp.Null()), true=exp.Null())],
                    default=value)


def _once(g: exp.Expr, build: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """``build(g)``, evaluating ``g`` once when it is costly (it contains a subquery)."""
    if g.find(exp.Subquery) is None:
        return build(g)
    inner = exp.Subquery(this=exp.Select(expressions=[exp.Alias(this=g, alias=exp.to_identifier("g"))]),
                         alias=exp.TableAlias(this=exp.to_identifier("adql_g")))
    outer = exp.Select(expressions=[build(exp.column("g", "adql_g"))], from_=exp.From(this=inner))
    return exp.Subquery(this=outer)


def to_dali(value: Value) -> exp.Expr:
    """The DALI value (double precision[] in degrees) of a geometry, for the output."""
    if value.coords is not None:
        return exp.Array(expressions=[cast(number(c), "DOUBLE PRECISION") for c in value.coords])
    return _once(value.sql, lambda g: _dali(g, value.type))


def _dali(g: exp.Expr, t: SqlType) -> exp.Expr:
    if t == SPOINT:
        return _null_or(g, exp.Array(expressions=[fn("degrees", fn("long", g)), fn("degrees", fn("lat", g))]))
    if t == SCIRCLE:
        center = fn("center", g)
        return _null_or(g, exp.Array(expressions=[
            fn("degrees", fn("long", center)), fn("degrees", fn("lat", center)), fn("degrees", fn("radius", g)),
        ]))
    if t == SPOLY:
        return _POLYGON_DALI(g)
    # sbox: its four corners, counter-clockwise from the south-west one
    sw, ne = fn("sw", g), fn("ne", g)
    corners = [(sw, sw), (ne, sw), (ne, ne), (sw, ne)]
    return _null_or(g, exp.Array(expressions=[
        fn("degrees", part) for lon, lat in corners for part in (fn("long", lon), fn("lat", lat))
    ]))


def _rounded(node: exp.Expr) -> exp.Expr:
    return cast(fn("trim_scale", fn("round", cast(node, "NUMERIC"), exp.Literal.number("10"))), "TEXT")


def to_stcs(value: Value) -> exp.Expr:
    """STC-S text of a geometry (for columns declared as adql:REGION)."""
    return _once(value.sql, lambda g: _stcs(g, value.type))


def _stcs(g: exp.Expr, t: SqlType) -> exp.Expr:
    space = exp.Literal.string(" ")

    def join(head: str, numbers: list[exp.Expr]) -> exp.Expr:
        node: exp.Expr = exp.Literal.string(head)
        for index, n in enumerate(numbers):
            if index:
                node = exp.DPipe(this=node, expression=space)
            node = exp.DPipe(this=node, expression=_rounded(n))
        return exp.Paren(this=node)

    if t == SPOINT:
        return join("Position ICRS ", [fn("degrees", fn("long", g)), fn("degrees", fn("lat", g))])
    if t == SCIRCLE:
        center = fn("center", g)
        return join("Circle ICRS ", [fn("degrees", fn("long", center)), fn("degrees", fn("lat", center)),
                                     fn("degrees", fn("radius", g))])
    if t == SPOLY:
        return _POLYGON_STCS(g)
    sw, ne = fn("sw", g), fn("ne", g)
    return join("Polygon ICRS ", [fn("degrees", p) for lon, lat in ((sw, sw), (ne, sw), (ne, ne), (sw, ne))
                                  for p in (fn("long", lon), fn("lat", lat))])
