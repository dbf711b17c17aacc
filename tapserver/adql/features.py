"""The ADQL language features this service supports, as TAPRegExt declares them.

``FEATURES`` is what the capabilities document lists (``<languageFeatures type="...">`` with one
``<feature><form>...</form><description>...</description></feature>`` per entry). The function
allow-list of the translator is derived from it (:func:`feature_functions`) plus the core functions of
ADQL 2.1 §2.3, which need no declaration. COALESCE, NULLIF, GREATEST and LEAST are supported but not
declared: taplint 3.4.7 rejects ``features-adql-conditional`` (E-CAP-KEYX).
"""

from __future__ import annotations

from dataclasses import dataclass

TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt"
GEOMETRY = f"{TAPREGEXT}#features-adqlgeo"
STRING = f"{TAPREGEXT}#features-adql-string"
COMMON_TABLE = f"{TAPREGEXT}#features-adql-common-table"
SETS = f"{TAPREGEXT}#features-adql-sets"
TYPE = f"{TAPREGEXT}#features-adql-type"
UNIT = f"{TAPREGEXT}#features-adql-unit"
OFFSET = f"{TAPREGEXT}#features-adql-offset"
UDF = f"{TAPREGEXT}#features-udf"


@dataclass(frozen=True)
class Feature:
    """One TAPRegExt language feature: its type IVOID, its form, and a description for humans.

    ``function`` is the ADQL function the feature makes available (None for syntax: WITH, UNION...).
    """

    type: str
    form: str
    description: str
    function: str | None = None


def _geo(name: str, description: str) -> Feature:
    return Feature(GEOMETRY, name, description, function=name)


FEATURES: tuple[Feature, ...] = (
    _geo("POINT", "A position: POINT(lon, lat) in degrees (ICRS)."),
    _geo("CIRCLE", "A circle: CIRCLE(lon, lat, radius) or CIRCLE(point, radius), degrees."),
    _geo("POLYGON", "A polygon from its vertices: POLYGON(lon1, lat1, lon2, lat2, ...) or points."),
    _geo("BOX", "A box: BOX(lon, lat, width, height), as a polygon with vertices at the center "
                "plus or minus half the sizes."),
    _geo("REGION", "A geometry from an STC-S literal (Position, Circle, Polygon, Box; ICRS)."),
    _geo("CONTAINS", "1 if the first geometry lies within the second, else 0."),
    _geo("INTERSECTS", "1 if the two geometries overlap, else 0."),
    _geo("DISTANCE", "Great-circle distance in degrees between two points (or four coordinates)."),
    _geo("AREA", "Area of a geometry in square degrees."),
    _geo("CENTROID", "Centroid of a geometry (a point)."),
    _geo("COORD1", "First coordinate (longitude, degrees) of a point."),
    _geo("COORD2", "Second coordinate (latitude, degrees) of a point."),
    _geo("COORDSYS", "Coordinate system of a geometry (always ICRS here)."),
    Feature(STRING, "LOWER", "Lower-case version of a string.", function="LOWER"),
    Feature(STRING, "UPPER", "Upper-case version of a string.", function="UPPER"),
    Feature(STRING, "ILIKE", "Case-insensitive LIKE."),
    Feature(COMMON_TABLE, "WITH", "Common table expressions (WITH name AS (query) ...)."),
    Feature(SETS, "UNION", "Union of the results of two queries (UNION ALL keeps duplicates)."),
    Feature(SETS, "EXCEPT", "Rows of the first query that are not in the second."),
    Feature(SETS, "INTERSECT", "Rows present in the results of both queries."),
    Feature(TYPE, "CAST", "Type conversion to INTEGER, SMALLINT, BIGINT, REAL, DOUBLE PRECISION, "
                          "CHAR(n), VARCHAR(n) or TIMESTAMP."),
    Feature(UNIT, "IN_UNIT", "Conversion of a value to another (VOUnit) unit: IN_UNIT(value, 'unit').",
            function="IN_UNIT"),
    Feature(OFFSET, "OFFSET", "Skip the first rows of the result (applied before TOP)."),
    Feature(UDF, "ivo_nocasematch(value TEXT, pattern TEXT) -> INTEGER",
            "1 if value matches the LIKE pattern ignoring case, else 0.", function="IVO_NOCASEMATCH"),
    Feature(UDF, "ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER",
            "1 if needle appears as a word in haystack (case-insensitive full-text match), else 0.",
            function="IVO_HASWORD"),
    Feature(UDF, "ivo_hashlist_has(hashlist TEXT, item TEXT) -> INTEGER",
            "1 if item is an element of the #-separated hashlist (case-insensitive), else 0.",
            function="IVO_HASHLIST_HAS"),
    Feature(UDF, "ivo_string_agg(expr TEXT, deli TEXT) -> TEXT",
            "Aggregate: the values of expr joined with the delimiter deli.", function="IVO_STRING_AGG"),
)


def feature_functions() -> frozenset[str]:
    """Upper-case names of the functions the declared features make available."""
    return frozenset(f.function for f in FEATURES if f.function)


def features_by_type() -> dict[str, list[Feature]]:
    """The features grouped by TAPRegExt type, in declaration order (for the capabilities writer)."""
    grouped: dict[str, list[Feature]] = {}
    for feature in FEATURES:
        grouped.setdefault(feature.type, []).append(feature)
    return grouped
