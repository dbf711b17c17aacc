"""TAP_UPLOAD: parsing UPLOAD, reading VOTables within limits, uploads bound into read-only reader queries."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from astropy.table import Table as AstropyTable
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool, QueuePool

from tapserver.adql.translate import translate
from tapserver.catalog.cache import CatalogCache
from tapserver.config import Settings
from tapserver.errors import UsageFault
from tapserver.tap.results import driver_connection
from tapserver.uploads import (
    UploadedTable,
    UploadLimits,
    UploadRef,
    UrlPolicy,
    bind_uploads,
    parse_upload_param,
    read_uploads,
    read_votable,
    upload_tables,
)
from tests.uws.synthetic import positions, votable_bytes

LIMITS = UploadLimits(max_bytes=1_000_000, max_rows=1000)
#: The test HTTP server listens on loopback, which the default URL policy refuses.
LOOPBACK_OK = UploadLimits(max_bytes=1_000_000, max_rows=1000, url_policy=UrlPolicy(allow=("public", "127.0.0.0/8")))


def test_parse_upload_param() -> None:
    refs = parse_upload_param(["a,param:a;B_2,https://example.org/t.xml", " c , http://x/y "])
    assert refs == [UploadRef("a", "param:a"), UploadRef("B_2", "https://example.org/t.xml"),
                    UploadRef("c", "http://x/y")]
    assert refs[0].part == "a" and refs[1].part is None
    assert parse_upload_param([]) == [] and parse_upload_param([""]) == []


@pytest.mark.parametrize(("value", "message"), [
    ("noseparator", "must be 'table_name,URI'"),
    ("1abc,param:x", "not a valid ADQL identifier"),
    ("a-b,param:x", "not a valid ADQL identifier"),
    ("t,ftp://x/y", "unsupported URI"),
    ("t,param:", "unsupported URI"),
    ("t,param:a;T,param:b", "used more than once"),
])
def test_parse_upload_param_rejects(value: str, message: str) -> None:
    with pytest.raises(UsageFault, match=message):
        parse_upload_param([value])


@pytest.mark.parametrize("fmt", ["tabledata", "binary", "binary2"])
def test_read_votable_types_and_metadata(fmt: str) -> None:
    table = AstropyTable({
        "i": np.array([1, 2], dtype=np.int32), "s": np.array([3, -4], dtype=np.int16),
        "l": np.array([2**40, 5], dtype=np.int64), "f": np.array([1.5, np.nan], dtype=np.float32),
        "d": np.array([1.25, 2.5]), "b": np.array([True, False]), "txt": ["x", "é"],
        "ts": ["2020-01-01T12:00:00", "2021-06-30"], "pos": np.array([[10.0, 20.0], [30.0, -40.0]]),
        "vec": np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32),
    })
    data = votable_bytes(table, fmt, {"ts": "timestamp", "pos": "point"})
    uploaded = read_votable("t1", io.BytesIO(data), 10)
    assert uploaded.name == "t1" and uploaded.rows == 2
    assert uploaded.table.schema == "" and uploaded.table.name == "tap_upload_t1"
    types = {c.name: (c.sql_type, c.datatype, c.arraysize, c.xtype) for c in uploaded.table.columns}
    assert types == {
        "i": ("integer", "int", None, None), "s": ("smallint", "short", None, None),
        "l": ("bigint", "long", None, None), "f": ("real", "float", None, None),
        "d": ("double precision", "double", None, None), "b": ("boolean", "boolean", None, None),
        "txt": ("text", "unicodeChar", None, None),
        "ts": ("timestamp without time zone", "char", "*", "timestamp"),
        "pos": ("spoint", "double", "2", "point"), "vec": ("integer[]", "int", "3", None),
    }
    rows = list(uploaded.iter_rows())
    assert rows[0] == (1, 3, 2**40, 1.5, 1.25, True, "x", "2020-01-01T12:00:00", "(10.0d,20.0d)", [1, 2, 3])
    assert rows[1][3] is None  # NaN float -> NULL
    assert rows[1][6] == "é" and rows[1][8] == "(30.0d,-40.0d)"


def test_read_votable_limits_and_garbage() -> None:
    data = votable_bytes(positions(5))
    with pytest.raises(UsageFault, match="has 5 rows; at most 4"):
        read_votable("t", io.BytesIO(data), 4)
    with pytest.raises(UsageFault, match="not a readable VOTable"):
        read_votable("t", io.BytesIO(b"<html>not a votable</html>"), 4)
    refs = parse_upload_param(["t,param:p"])
    with pytest.raises(UsageFault, match="too large"):
        read_uploads(refs, lambda part: io.BytesIO(data), UploadLimits(max_bytes=len(data) - 1, max_rows=10))
    with pytest.raises(UsageFault, match="no multipart part named 'p'"):
        read_uploads(refs, lambda part: None, LIMITS)


def test_read_uploads_by_url(served_votable: tuple[str, bytes]) -> None:
    base, _ = served_votable
    (uploaded,) = read_uploads(parse_upload_param([f"remote,{base}/t.xml"]), lambda part: None, LOOPBACK_OK)
    assert uploaded.rows == 4
    with pytest.raises(UsageFault, match="HTTP 404"):
        read_uploads(parse_upload_param([f"remote,{base}/missing.xml"]), lambda part: None, LOOPBACK_OK)
    with pytest.raises(UsageFault, match=r"loopback address 127\.0\.0\.1; not allowed"):  # the default policy
        read_uploads(parse_upload_param([f"remote,{base}/t.xml"]), lambda part: None, LIMITS)


def _run_read_only(engine: Engine, translated: str, uploads: list[UploadedTable], explain: bool = False) -> list[Any]:
    """The translated query with its uploads bound, in a read-only transaction (no write could succeed)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        sql = bind_uploads(driver_connection(conn), translated, uploads)
        rows = conn.exec_driver_sql(("EXPLAIN (FORMAT JSON) " if explain else "") + sql).all()
        conn.rollback()
    return list(rows)


def test_uploads_join_obscore_in_a_read_only_transaction(uws_settings: Settings) -> None:
    """Two uploads (TABLEDATA, BINARY2) bound into one query on a pooled reader connection: a cone match
    against ivoa.obscore through the ADQL translator, in a read-only transaction; nothing is left behind."""
    engine = create_engine(uws_settings.query_url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    try:
        catalogs = CatalogCache(engine)
        first = read_votable("pos", io.BytesIO(votable_bytes(positions(3))), 100)
        second = read_votable("Other", io.BytesIO(votable_bytes(positions(2), "binary2")), 100)
        adql = ("SELECT p.id, p.ra, o.obs_id FROM TAP_UPLOAD.pos AS p JOIN ivoa.obscore AS o "
                "ON 1 = CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', p.ra, p.dec, 0.05)) "
                "WHERE p.id IN (SELECT id FROM tap_upload.other) ORDER BY p.id, o.obs_id")
        translation = translate(adql, catalogs.get(), uploads=upload_tables([first, second]))
        rows = _run_read_only(engine, translation.sql, [first, second])
        assert [r[0] for r in rows] and {r[0] for r in rows} <= {1, 2}
        assert all(isinstance(r[2], str) and r[2].startswith("obs-") for r in rows)
        assert len(rows) >= 2
    finally:
        engine.dispose()


def test_uploads_with_the_query_s_own_common_table_expressions(uws_settings: Settings) -> None:
    engine = create_engine(uws_settings.query_url, poolclass=NullPool)
    try:
        uploaded = read_votable("pos", io.BytesIO(votable_bytes(positions(3))), 100)
        adql = ("WITH near AS (SELECT id, ra FROM TAP_UPLOAD.pos WHERE id < 3) "
                "SELECT n.id, n.ra FROM near AS n ORDER BY n.id")
        translation = translate(adql, CatalogCache(engine).get(), uploads=upload_tables([uploaded]))
        assert [r[0] for r in _run_read_only(engine, translation.sql, [uploaded])] == [1, 2]
    finally:
        engine.dispose()


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def test_a_large_upload_joins_obscore_through_its_index(uws_settings: Settings) -> None:
    """10,000 uploaded positions cross-matched with ivoa.obscore: the planner knows the upload's size and
    probes the pointing index of ivoa.obscore instead of comparing every pair."""
    engine = create_engine(uws_settings.query_url, poolclass=NullPool)
    try:
        rng = np.random.default_rng(5)
        table = AstropyTable({"id": np.arange(10_000), "ra": rng.uniform(80, 88, 10_000),
                              "dec": rng.uniform(19, 25, 10_000)})
        uploaded = read_votable("many", io.BytesIO(votable_bytes(table, "binary2")), 20_000)
        adql = ("SELECT u.id, o.obs_id FROM TAP_UPLOAD.many AS u JOIN ivoa.obscore AS o "
                "ON 1 = CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', u.ra, u.dec, 0.01))")
        translation = translate(adql, CatalogCache(engine).get(), uploads=upload_tables([uploaded]))
        ((plan,),) = _run_read_only(engine, translation.sql, [uploaded], explain=True)
        nodes = list(_plan_nodes(plan[0]["Plan"]))
        scans = {(n["Node Type"], n.get("Relation Name")) for n in nodes}
        assert {("Index Scan", "obscore"), ("Bitmap Heap Scan", "obscore")} & scans, scans
        assert ("Seq Scan", "obscore") not in scans, scans
        function_scans = [n for n in nodes if n["Node Type"] == "Function Scan"]
        assert function_scans and function_scans[0]["Plan Rows"] == 10_000
    finally:
        engine.dispose()


def test_bad_value_is_a_usage_fault(uws_settings: Settings) -> None:
    table = AstropyTable({"ts": ["2020-01-01", "not a date"]})
    uploaded = read_votable("t", io.BytesIO(votable_bytes(table, xtypes={"ts": "timestamp"})), 10)
    engine = create_engine(uws_settings.query_url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            with pytest.raises(UsageFault, match="cannot be read"):
                bind_uploads(driver_connection(conn), "SELECT 1", [uploaded])
            conn.rollback()
            assert conn.execute(text("SELECT 1")).scalar_one() == 1  # the connection is still usable
    finally:
        engine.dispose()
