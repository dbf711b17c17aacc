"""translate(): limits and MAXREC, result metadata, uploads, caching, the SQL's shape, and the features table."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Connection
from sqlglot import exp

from tapserver.adql import ALLOWED_FUNCTIONS, FEATURES, ResultColumn, Translation, parse, translate
from tapserver.adql.features import UDF, features_by_type
from tapserver.catalog import Catalog, Table, col, declared_catalog
from tests.adql.compare import run
from tests.adql.conftest import AdqlDatabase

CATALOG = declared_catalog()


def _columns(adql: str) -> dict[str, ResultColumn]:
    return {c.name: c for c in translate(adql, CATALOG).columns}


# --- limits -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("adql", "maxrec", "limit"), [
    ("SELECT obs_id FROM ivoa.obscore", None, None),
    ("SELECT obs_id FROM ivoa.obscore", 100, 101),
    ("SELECT TOP 5 obs_id FROM ivoa.obscore", None, 5),
    ("SELECT TOP 5 obs_id FROM ivoa.obscore", 100, 5),
    ("SELECT TOP 500 obs_id FROM ivoa.obscore", 100, 101),
    ("SELECT TOP 101 obs_id FROM ivoa.obscore", 100, 101),
    ("SELECT TOP 5 obs_id FROM ivoa.obscore", 0, 0),
    ("SELECT obs_id FROM ivoa.obscore UNION SELECT obs_id FROM obsconfig.obsconfig", 7, 8),
])
def test_limit(adql: str, maxrec: int | None, limit: int | None) -> None:
    translation = translate(adql, CATALOG, maxrec=maxrec)
    assert translation.limit == limit
    assert translation.maxrec == maxrec
    assert translation.metadata_only == (maxrec == 0)
    found = re.findall(r"LIMIT (\d+)$", translation.sql)
    assert found == ([] if limit is None else [str(limit)])


def test_overflow_is_exact(adql_db: AdqlDatabase, reader_conn: Connection) -> None:
    for maxrec, overflow in ((11, True), (12, False), (13, False)):
        translation = translate("SELECT obs_id FROM ivoa.obscore", adql_db.catalog, maxrec=maxrec)
        rows, _ = run(reader_conn, translation.sql)
        assert len(rows) == min(12, maxrec + 1)
        assert translation.overflowed(len(rows)) is overflow
    translation = translate("SELECT TOP 3 obs_id FROM ivoa.obscore", adql_db.catalog, maxrec=3)
    rows, _ = run(reader_conn, translation.sql)
    assert len(rows) == 3 and not translation.overflowed(len(rows))  # TOP, not MAXREC, limited the result


def test_metadata_only(adql_db: AdqlDatabase, reader_conn: Connection) -> None:
    translation = translate("SELECT obs_id, s_region FROM ivoa.obscore", adql_db.catalog, maxrec=0)
    rows, description = run(reader_conn, translation.sql)
    assert rows == [] and translation.metadata_only
    assert [name for name, _ in description] == ["obs_id", "s_region"]


def test_offset_applies_before_top(adql_db: AdqlDatabase, reader_conn: Connection) -> None:
    translation = translate("SELECT TOP 2 obs_id FROM ivoa.obscore ORDER BY obs_id OFFSET 3", adql_db.catalog,
                            maxrec=1)
    assert (translation.top, translation.offset, translation.limit) == (2, 3, 2)
    rows, _ = run(reader_conn, translation.sql)
    assert rows == [("33787",), ("47802",)]  # the 4th and 5th in order; MAXREC=1 then keeps one


def test_negative_maxrec_is_refused() -> None:
    from tapserver.errors import UsageFault
    with pytest.raises(UsageFault):
        translate("SELECT obs_id FROM ivoa.obscore", CATALOG, maxrec=-1)


# --- result metadata -----------------------------------------------------------------------------------
def test_catalog_columns_keep_their_declaration() -> None:
    columns = _columns("SELECT s_ra, o.s_dec AS declination, S_REGION FROM ivoa.obscore AS o")
    assert list(columns) == ["s_ra", "declination", "s_region"]
    ra = columns["s_ra"]
    assert (ra.datatype, ra.unit, ra.ucd, ra.table, ra.column) == ("double", "deg", "pos.eq.ra", "ivoa.obscore",
                                                                    "s_ra")
    assert ra.utype == "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1"
    assert ra.description
    assert columns["declination"].ucd == "pos.eq.dec"
    region = columns["s_region"]
    assert (region.datatype, region.arraysize, region.xtype, region.sql_type) == ("char", "*", "adql:REGION", "text")


def test_select_star_is_the_catalog_order() -> None:
    names = [c.name for c in translate("SELECT * FROM ivoa.obscore", CATALOG).columns]
    assert names == [c.name for c in CATALOG.table("obscore", "ivoa").columns]  # type: ignore[union-attr]


def test_expression_types() -> None:
    columns = _columns(
        "SELECT COUNT(*) AS n, AVG(calib_level) AS a, SUM(calib_level) AS s, MAX(s_dec) AS m, "
        "DISTANCE(POINT(s_ra, s_dec), POINT(1, 2)) AS d, AREA(s_region) AS ar, POINT(s_ra, s_dec) AS p, "
        "CIRCLE(1, 2, 3) AS c, POLYGON(1, 1, 2, 1, 2, 2) AS pg, CENTROID(s_region) AS ce, "
        "CONTAINS(POINT(1, 2), s_region) AS hit, CAST(s_ra AS REAL) AS r, CAST(obs_id AS CHAR(8)) AS ch, "
        "CAST(obs_id AS VARCHAR(8)) AS vc, obs_creation_date AS t, UPPER(obs_id) AS u, 1.5 AS lit, "
        "IN_UNIT(t_exptime, 'h') AS hours, COORD1(POINT(s_ra, s_dec)) AS c1 FROM ivoa.obscore "
        "GROUP BY s_ra, s_dec, s_region, obs_id, obs_creation_date, t_exptime")
    expected = {
        "n": ("long", None, None, None), "a": ("double", None, None, None), "s": ("long", None, None, None),
        "m": ("double", None, None, "deg"), "d": ("double", None, None, "deg"), "ar": ("double", None, None, "deg**2"),
        "p": ("double", "2", "point", "deg"), "c": ("double", "3", "circle", "deg"),
        "pg": ("double", "*", "polygon", "deg"), "ce": ("double", "2", "point", "deg"),
        "hit": ("int", None, None, None), "r": ("float", None, None, "deg"), "ch": ("char", "8", None, None),
        "vc": ("char", "8*", None, None), "t": ("char", "*", "timestamp", None), "u": ("char", "*", None, None),
        "lit": ("double", None, None, None), "hours": ("double", None, None, "h"), "c1": ("double", None, None, "deg"),
    }
    for name, (datatype, arraysize, xtype, unit) in expected.items():
        c = columns[name]
        assert (c.datatype, c.arraysize, c.xtype, c.unit) == (datatype, arraysize, xtype, unit), name
    assert columns["n"].ucd == "meta.number"
    assert columns["m"].ucd == "pos.eq.dec"  # MAX keeps the quantity
    assert columns["d"].ucd == "pos.angDistance"


def test_expression_names_are_unique() -> None:
    names = [c.name for c in translate(
        "SELECT s_ra, s_ra, s_ra + 1, s_ra * 2, COUNT(*), count(*) AS count_2, CAST(s_dec AS REAL), "
        'obs_id AS "Id", o.obs_id AS id FROM ivoa.obscore AS o GROUP BY s_ra, s_dec, obs_id', CATALOG).columns]
    assert names == ["s_ra", "s_ra_2", "expr", "expr_2", "count", "count_2", "s_dec", "Id", "id_2"]


def test_join_star_names() -> None:
    names = [c.name for c in translate(
        "SELECT * FROM ivoa.obscore o JOIN obsconfig.obsconfig c USING (obs_publisher_did)", CATALOG).columns]
    assert names[0] == "obs_publisher_did" and names.count("obs_publisher_did") == 1
    assert "obs_id" in names and "obs_id_2" in names and len(names) == len(set(names))


# --- uploads -----------------------------------------------------------------------------------------------
UPLOAD = Table("pg_temp", "tap_upload_1a2b", "an uploaded table", columns=(
    col("id", "text", "source id"),
    col("ra", "double precision", "RA", unit="deg", ucd="pos.eq.ra"),
    col("dec", "double precision", "Dec", unit="deg", ucd="pos.eq.dec"),
))


def test_upload_tables(adql_db: AdqlDatabase, reader_conn: Connection) -> None:
    adql = ("SELECT u.id, o.obs_id, DISTANCE(POINT(u.ra, u.dec), POINT(o.s_ra, o.s_dec)) AS d "
            "FROM TAP_UPLOAD.Sources AS u JOIN ivoa.obscore AS o "
            "ON CONTAINS(POINT(o.s_ra, o.s_dec), CIRCLE(u.ra, u.dec, 1)) = 1 ORDER BY u.id, o.obs_id")
    translation = translate(adql, adql_db.catalog, uploads={"sources": UPLOAD})
    assert "pg_temp.tap_upload_1a2b" in translation.sql
    assert translation.uploads == ("sources",) and translation.tables == ("ivoa.obscore",)
    assert translation.columns[0].description == "source id"
    dbapi = reader_conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute("SET TRANSACTION READ WRITE")
        cursor.execute("CREATE TEMP TABLE tap_upload_1a2b (id text, ra double precision, dec double precision)")
        cursor.execute("INSERT INTO tap_upload_1a2b VALUES ('a', 83.6, 22.0), ('b', 0, 0), ('c', 100, -80)")
        cursor.execute(translation.sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
        dbapi.rollback()
    assert [(r[0], r[1]) for r in rows] == [("a", "23523"), ("b", "60002"), ("b", "60003")]
    with pytest.raises(Exception, match="no uploaded table 'other'"):
        translate("SELECT * FROM TAP_UPLOAD.other", adql_db.catalog, uploads={"sources": UPLOAD})


SHAPES = Table("pg_temp", "tap_upload_shapes", "geometry columns of all kinds", columns=(
    col("reg", "spoly", "a polygon served as STC-S", datatype="char", arraysize="*", xtype="adql:REGION"),
    col("pos", "spoint", "a point served as a DALI point"),
    col("cone", "scircle", "a circle served as a DALI circle"),
    col("cell", "sbox", "a coordinate box served as a DALI polygon"),
    col("spot", "spoint", "a point served as STC-S", datatype="char", arraysize="*", xtype="adql:REGION"),
))


def test_geometry_columns_of_every_type(adql_db: AdqlDatabase, reader_conn: Connection) -> None:
    from tapserver.adql.geometry import polygon_centroid

    adql = ("SELECT reg, pos, cone, cell, spot, CENTROID(reg) AS c, AREA(cell) AS a, COORD1(pos) AS lon "
            "FROM TAP_UPLOAD.shapes")
    translation = translate(adql, adql_db.catalog, uploads={"shapes": SHAPES})
    xtypes = [(c.datatype, c.arraysize, c.xtype) for c in translation.columns]
    assert xtypes[:6] == [("char", "*", "adql:REGION"), ("double", "2", "point"), ("double", "3", "circle"),
                          ("double", "4", "polygon"), ("char", "*", "adql:REGION"), ("double", "2", "point")]
    dbapi = reader_conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute("SET TRANSACTION READ WRITE")
        cursor.execute("CREATE TEMP TABLE tap_upload_shapes (reg spoly, pos spoint, cone scircle, cell sbox, "
                       "spot spoint)")
        cursor.execute("INSERT INTO tap_upload_shapes VALUES ('{(10d,20d),(12d,20d),(11d,22d)}', "
                       "'(1.5d,2.5d)', '<(10d,20d),1d>', '((1d,2d),(3d,4d))', '(359.5d,-1d)'), "
                       "(NULL, NULL, NULL, NULL, NULL)")
        cursor.execute(translation.sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
        dbapi.rollback()
    full, empty = sorted(rows, key=lambda r: r[0] is None)
    assert full[0] == "Polygon ICRS 10 20 12 20 11 22"
    assert full[1] == pytest.approx([1.5, 2.5]) and full[2] == pytest.approx([10, 20, 1])
    assert full[3] == pytest.approx([1, 2, 3, 2, 3, 4, 1, 4])
    assert full[4] == "Position ICRS 359.5 -1"
    assert full[5] == pytest.approx(list(polygon_centroid([10, 20, 12, 20, 11, 22])), abs=1e-9)
    assert full[6] > 0 and full[7] == pytest.approx(1.5)
    assert empty == (None,) * 8


# --- caching, purity -----------------------------------------------------------------------------------------
def test_cache_per_catalog_and_maxrec() -> None:
    adql = "SELECT obs_id FROM ivoa.obscore WHERE s_dec > 0"
    first = translate(adql, CATALOG, maxrec=10)
    assert translate(adql, CATALOG, maxrec=10) is first
    assert translate(adql, CATALOG, maxrec=11) is not first
    other = Catalog(CATALOG.schemas)
    assert translate(adql, other, maxrec=10) is not first
    assert translate(adql, other, maxrec=10) == first
    assert translate(adql, CATALOG, uploads={"sources": UPLOAD}) is not translate(adql, CATALOG,
                                                                                  uploads={"sources": UPLOAD})


def test_cache_drops_the_least_recently_used_translation() -> None:
    from tapserver.adql.translate import _Cache

    cache = _Cache(size=2)
    done = {n: translate(f"SELECT TOP {n} obs_id FROM ivoa.obscore", CATALOG) for n in (1, 2, 3)}
    keys = {n: (f"q{n}", None, None) for n in done}
    cache.put(CATALOG, keys[1], done[1])
    cache.put(CATALOG, keys[2], done[2])
    assert cache.get(CATALOG, keys[1]) is done[1]  # now the most recently used
    cache.put(CATALOG, keys[3], done[3])
    assert cache.get(CATALOG, keys[2]) is None
    assert cache.get(CATALOG, keys[1]) is done[1] and cache.get(CATALOG, keys[3]) is done[3]
    assert cache.get(Catalog(CATALOG.schemas), keys[1]) is None


def test_translation_is_immutable() -> None:
    translation = translate("SELECT obs_id FROM ivoa.obscore", CATALOG)
    assert isinstance(translation, Translation)
    with pytest.raises(AttributeError):
        translation.sql = "DROP TABLE x"  # type: ignore[misc]


def test_parse_returns_the_adql_tree() -> None:
    tree = parse("SELECT TOP 3 obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(1, 2, 3)) = 1")
    assert isinstance(tree, exp.Select)
    assert tree.find(exp.Anonymous) is not None


def test_reserved_words_are_quoted_in_the_sql() -> None:
    sql = translate('SELECT "default", "min" AS "time", name AS "Name" FROM provenance.parameterdescription',
                    CATALOG).sql
    assert 'SELECT parameterdescription."default", ' in sql
    assert 'AS "time"' in sql and 'AS "Name"' in sql


def test_geometry_sql_uses_the_index_expression() -> None:
    sql = translate("SELECT obs_id FROM ivoa.obscore AS o WHERE CONTAINS(POINT(o.s_ra, o.s_dec), "
                    "CIRCLE(10, 20, 1)) = 1", CATALOG).sql
    assert "WHERE spoint(radians(o.s_ra), radians(o.s_dec)) <@ scircle(spoint(radians(10), radians(20)), " \
           "radians(1))" in sql


def test_template_aliases_are_never_given_to_user_tables() -> None:
    sql = translate("SELECT CENTROID(POLYGON(adql_r.s_ra, adql_r.s_dec, 1, 1, 2, 2)) "
                    "FROM ivoa.obscore AS adql_r", CATALOG).sql
    assert "FROM ivoa.obscore AS t_adql_r" in sql and "t_adql_r.s_ra" in sql


# --- TAPRegExt features -------------------------------------------------------------------------------------------
def test_features_are_tapregext_ids() -> None:
    for feature in FEATURES:
        assert feature.type.startswith("ivo://ivoa.net/std/TAPRegExt#features-"), feature
        assert feature.form and feature.description
    types = set(features_by_type())
    assert not any(t.endswith("adql-conditional") for t in types)
    assert {t.split("#")[1] for t in types} >= {"features-adqlgeo", "features-adql-string",
                                               "features-adql-common-table", "features-adql-sets",
                                               "features-adql-type", "features-adql-unit", "features-adql-offset"}


def test_every_declared_function_is_allowed_and_works() -> None:
    for feature in FEATURES:
        if feature.function:
            assert feature.function in ALLOWED_FUNCTIONS
    for feature in FEATURES:
        if feature.type == UDF:
            assert re.fullmatch(r"ivo_\w+\((\w+ [A-Z]+(, )?)+\) -> [A-Z]+", feature.form), feature.form
            name = feature.form.split("(")[0]
            args = ", ".join(["'a'"] * feature.form.count(","))
            translate(f"SELECT {name}({args}, obs_id) FROM ivoa.obscore GROUP BY obs_id", CATALOG)
