"""Cone searches use the GiST indexes of ivoa.obscore (checked with EXPLAIN on an analyzed table)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from tapserver.adql import translate
from tapserver.catalog import declared_catalog
from tapserver.config import load_settings
from tests.dbutil import migrated_database

ROWS = 20_000


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database of its own with many synthetic obscore rows, analyzed; the query role's engine."""
    with migrated_database("tapserver_adql_explain") as url:
        settings = load_settings(database_url=url.render_as_string(hide_password=False),
                                 data_dir=tmp_path_factory.mktemp("explain-data"))
        admin = create_engine(settings.admin_url, poolclass=NullPool)
        with admin.begin() as conn:
            conn.execute(text("""
                INSERT INTO ivoa.obscore (obs_publisher_did, obs_collection, obs_id, calib_level, s_ra, s_dec,
                                          s_fov, s_region)
                SELECT 'ivo://x/y?' || i, 'synthetic', i::text, 2, ra, dec, 5.0,
                       scircle(spoint(radians(ra), radians(dec)), radians(2.5))
                FROM (SELECT i, 360.0 * random() AS ra, degrees(asin(2 * random() - 1)) AS dec
                      FROM generate_series(1, :rows) AS i) AS g
            """), {"rows": ROWS})
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE ivoa.obscore"))
        admin.dispose()
        engine = create_engine(settings.query_url, poolclass=NullPool)
        yield engine
        engine.dispose()


def _plan(engine: Engine, adql: str) -> str:
    sql = translate(adql, declared_catalog()).sql
    with engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.close()
    return plan


@pytest.mark.parametrize("adql", [
    "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 1)) = 1",
    "SELECT * FROM ivoa.ObsCore o WHERE 1 = CONTAINS(POINT(o.s_ra, o.s_dec), CIRCLE(10, -30, 0.5))",
    "SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(POINT(s_ra, s_dec), POINT(200, 45)) < 0.7",
    "SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(300, -60, s_ra, s_dec) <= 1",
    "SELECT TOP 10 obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 0, 1)) = 1 "
    "AND calib_level = 2 ORDER BY obs_id",
])
def test_cone_uses_the_point_index(reader: Engine, adql: str) -> None:
    plan = _plan(reader, adql)
    assert "obscore_s_point" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize("adql", [
    "SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE(83.63, 22.01, 0.5)) = 1",
    "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(120, 30), s_region) = 1",
])
def test_region_search_uses_the_region_index(reader: Engine, adql: str) -> None:
    plan = _plan(reader, adql)
    assert "obscore_s_region" in plan, plan


def test_large_distance_is_not_rewritten(reader: Engine) -> None:
    """DISTANCE < 120 cannot be a pgsphere circle (at most 90 degrees): a plain, correct filter."""
    adql = "SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(POINT(s_ra, s_dec), POINT(200, 45)) < 120"
    assert "scircle" not in translate(adql, declared_catalog()).sql
    assert "Seq Scan" in _plan(reader, adql)
