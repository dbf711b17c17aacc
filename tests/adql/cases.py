"""The ADQL corpus: one case per row, ADQL and a hand-written PostgreSQL reference giving the same result.

The reference SQL is independent of the translator: positions are tested with spherical trigonometry
(haversine), expected geometry values are built from the stored coordinates, and so on. The corpus is
also what ``bench/adql_translate.py`` times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """An ADQL query and its reference; ``ordered`` when the row order is part of the result."""

    adql: str
    reference: str
    ordered: bool

    @property
    def id(self) -> str:
        return re.sub(r"\s+", " ", self.adql)[:90]


def _top_level_order_by(adql: str) -> bool:
    depth = 0
    tail_start = 0
    for i, ch in enumerate(adql):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                tail_start = i
    return "ORDER BY" in adql[tail_start:].upper()


def hav(ra1: str, dec1: str, ra2: str, dec2: str) -> str:
    """Great-circle distance in degrees (haversine), as reference SQL."""
    return (f"degrees(2 * asin(sqrt(power(sin(radians(({dec2}) - ({dec1})) / 2), 2) + cos(radians({dec1})) "
            f"* cos(radians({dec2})) * power(sin(radians(({ra2}) - ({ra1})) / 2), 2))))")


CASES: list[Case] = []


def case(adql: str, reference: str, ordered: bool | None = None) -> None:
    CASES.append(Case(adql, reference, _top_level_order_by(adql) if ordered is None else ordered))


O = "ivoa.obscore"  # noqa: E741
C = "obsconfig.obsconfig"
CRAB = hav("s_ra", "s_dec", "83.63", "22.01")
STCS = "'Circle ICRS ' || s_ra || ' ' || s_dec || ' ' || (s_fov / 2)"
# SELECT * on ivoa.obscore: every column in catalog order, s_region as STC-S
OBSCORE_NAMES = (
    "dataproduct_type", "dataproduct_subtype", "calib_level", "obs_collection", "obs_id", "obs_title",
    "obs_creation_date", "obs_creator_name", "obs_creator_did", "obs_publisher_did", "publisher_id",
    "bib_reference", "data_rights", "obs_release_date", "proposal_id", "access_url", "access_format",
    "access_estsize", "target_name", "target_class", "s_ra", "s_dec", "s_fov", "s_region", "s_resolution",
    "s_resolution_min", "s_resolution_max", "s_xel1", "s_xel2", "s_calib_status", "t_min", "t_max", "t_exptime",
    "t_resolution", "t_xel", "t_calib_status", "em_min", "em_max", "em_res_power", "em_xel", "em_ucd",
    "em_unit", "em_calib_status", "o_ucd", "pol_states", "pol_xel", "facility_name", "instrument_name",
)
OBSCORE_STAR = ", ".join(STCS if name == "s_region" else name for name in OBSCORE_NAMES)

# --- SELECT list, DISTINCT, TOP, aliases --------------------------------------------------------------------
case("SELECT * FROM ivoa.obscore", f"SELECT {OBSCORE_STAR} FROM {O}")
case("SELECT obs_id, target_name FROM ivoa.obscore", f"SELECT obs_id, target_name FROM {O}")
case("SELECT ALL obs_collection FROM ivoa.obscore", f"SELECT obs_collection FROM {O}")
case("SELECT DISTINCT obs_collection FROM ivoa.obscore", f"SELECT DISTINCT obs_collection FROM {O}")
case("SELECT DISTINCT facility_name, calib_level FROM ivoa.obscore",
     f"SELECT DISTINCT facility_name, calib_level FROM {O}")
case("SELECT TOP 3 obs_id FROM ivoa.obscore ORDER BY obs_id", f"SELECT obs_id FROM {O} ORDER BY obs_id LIMIT 3")
case("SELECT TOP 0 obs_id FROM ivoa.obscore", f"SELECT obs_id FROM {O} LIMIT 0")
case("SELECT DISTINCT TOP 2 obs_collection FROM ivoa.obscore ORDER BY obs_collection",
     f"SELECT DISTINCT obs_collection FROM {O} ORDER BY obs_collection LIMIT 2")
case("SELECT obs_id AS id, s_ra AS ra FROM ivoa.obscore", f"SELECT obs_id, s_ra FROM {O}")
case("SELECT obs_id id, s_dec dec FROM ivoa.obscore", f"SELECT obs_id, s_dec FROM {O}")
case("SELECT o.* FROM ivoa.obscore AS o WHERE o.calib_level = 3",
     f"SELECT {OBSCORE_STAR} FROM {O} WHERE calib_level = 3")
case("SELECT c.* FROM obsconfig.obsconfig c", f"SELECT * FROM {C}")
case("SELECT obscore.obs_id FROM ivoa.obscore", f"SELECT obs_id FROM {O}")
case("SELECT ivoa.obscore.obs_id FROM ivoa.obscore", f"SELECT obs_id FROM {O}")
case("SELECT obs_id FROM obscore", f"SELECT obs_id FROM {O}")
case("SELECT 1, 'x', 2.5 FROM ivoa.obscore WHERE obs_id = '23523'",
     f"SELECT 1, 'x', 2.5::float8 FROM {O} WHERE obs_id = '23523'")
case("SELECT NULL FROM ivoa.obscore WHERE obs_id = '23523'", f"SELECT NULL::text FROM {O} WHERE obs_id = '23523'")
case("SELECT obs_id, obs_id FROM ivoa.obscore", f"SELECT obs_id, obs_id FROM {O}")
case("SELECT s_ra, s_ra * 2, s_ra * 3 FROM ivoa.obscore", f"SELECT s_ra, s_ra * 2, s_ra * 3 FROM {O}")

# --- identifiers: ADQL case rules, delimited names, reserved words ------------------------------------------
case("SELECT OBS_ID, S_RA FROM IVOA.OBSCORE", f"SELECT obs_id, s_ra FROM {O}")
case("SELECT Obs_Id FROM ivoa.ObsCore WHERE Calib_Level = 3", f"SELECT obs_id FROM {O} WHERE calib_level = 3")
case('SELECT "obs_id", "s_dec" FROM "ivoa"."obscore"', f"SELECT obs_id, s_dec FROM {O}")
case('SELECT o."obs_id" FROM ivoa.obscore AS "o"', f"SELECT obs_id FROM {O}")
case('SELECT "size", column_name FROM tap_schema.columns WHERE table_name = \'tap_schema.columns\'',
     "SELECT \"size\", column_name FROM tap_schema.columns WHERE table_name = 'tap_schema.columns'")
case('SELECT column_name FROM tap_schema.columns WHERE "size" = 3 AND table_name = \'ivoa.obscore\'',
     "SELECT column_name FROM tap_schema.columns WHERE \"size\" = 3 AND table_name = 'ivoa.obscore'")
case('SELECT "value", name FROM provenance.parameter', 'SELECT "value", name FROM provenance.parameter')
case('SELECT "type", name FROM provenance.agent', 'SELECT "type", name FROM provenance.agent')
case('SELECT "min", "max", "default" FROM provenance.parameterdescription',
     'SELECT "min", "max", "default" FROM provenance.parameterdescription')
case('SELECT obs_id AS "Größe ✓" FROM ivoa.obscore WHERE calib_level = 4',
     f"SELECT obs_id FROM {O} WHERE calib_level = 4")
case('SELECT obs_id AS "MixedCase" FROM ivoa.obscore ORDER BY "MixedCase" DESC',
     f"SELECT obs_id FROM {O} ORDER BY obs_id DESC")
case("SELECT O.obs_id FROM ivoa.obscore AS o WHERE O.calib_level = 0",
     f"SELECT obs_id FROM {O} WHERE calib_level = 0")
case("SELECT schema_name FROM tap_schema.schemas", "SELECT schema_name FROM tap_schema.schemas")
case("SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = 'provenance'",
     "SELECT table_name FROM tap_schema.tables WHERE schema_name = 'provenance'")
case("SELECT key_id, from_column FROM tap_schema.key_columns",
     "SELECT key_id, from_column FROM tap_schema.key_columns")

# --- comments and layout ------------------------------------------------------------------------------------
case("SELECT obs_id -- the identifier\nFROM ivoa.obscore -- the table\nWHERE calib_level = 1 -- raw",
     f"SELECT obs_id FROM {O} WHERE calib_level = 1")
case("-- leading comment\nSELECT\n\tobs_id\nFROM\n\tivoa.obscore\nWHERE\n\ts_dec > 80",
     f"SELECT obs_id FROM {O} WHERE s_dec > 80")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name = '--not a comment'",
     f"SELECT obs_id FROM {O} WHERE false")

# --- comparisons and logic ----------------------------------------------------------------------------------
case("SELECT obs_id FROM ivoa.obscore WHERE s_dec = 22.01", f"SELECT obs_id FROM {O} WHERE s_dec = 22.01")
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level <> 2", f"SELECT obs_id FROM {O} WHERE calib_level <> 2")
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level != 2", f"SELECT obs_id FROM {O} WHERE calib_level <> 2")
case("SELECT obs_id FROM ivoa.obscore WHERE s_ra < 100", f"SELECT obs_id FROM {O} WHERE s_ra < 100")
case("SELECT obs_id FROM ivoa.obscore WHERE s_ra > 200", f"SELECT obs_id FROM {O} WHERE s_ra > 200")
case("SELECT obs_id FROM ivoa.obscore WHERE s_ra <= 200", f"SELECT obs_id FROM {O} WHERE s_ra <= 200")
case("SELECT obs_id FROM ivoa.obscore WHERE s_ra >= 200", f"SELECT obs_id FROM {O} WHERE s_ra >= 200")
case("SELECT obs_id FROM ivoa.obscore WHERE 2 < calib_level", f"SELECT obs_id FROM {O} WHERE calib_level > 2")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name = 'Crab Nebula'",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('23523', '23526')")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name < 'N'", f"SELECT obs_id FROM {O} WHERE target_name < 'N'")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_creation_date > '2020-01-01'",
     f"SELECT obs_id FROM {O} WHERE obs_creation_date > timestamp '2020-01-01'")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_creation_date = '2016-06-02T11:30:00'",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('33787', '20136')")
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level = 2 AND s_dec < 0",
     f"SELECT obs_id FROM {O} WHERE calib_level = 2 AND s_dec < 0")
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level = 0 OR calib_level = 4",
     f"SELECT obs_id FROM {O} WHERE calib_level IN (0, 4)")
case("SELECT obs_id FROM ivoa.obscore WHERE NOT calib_level = 2", f"SELECT obs_id FROM {O} WHERE calib_level <> 2")
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level = 3 OR calib_level = 2 AND s_dec > 0",
     f"SELECT obs_id FROM {O} WHERE calib_level = 3 OR (calib_level = 2 AND s_dec > 0)")
case("SELECT obs_id FROM ivoa.obscore WHERE (calib_level = 3 OR calib_level = 2) AND s_dec > 0",
     f"SELECT obs_id FROM {O} WHERE calib_level IN (2, 3) AND s_dec > 0")
case("SELECT obs_id FROM ivoa.obscore WHERE NOT (s_dec > 0 OR s_ra > 300)",
     f"SELECT obs_id FROM {O} WHERE s_dec <= 0 AND s_ra <= 300")
case("SELECT obs_id FROM ivoa.obscore WHERE s_ra > 1 AND s_ra < 360 AND s_dec > -90 AND s_dec < 90 AND "
     "calib_level >= 0 AND calib_level <= 4 AND t_min > 0 AND t_max > t_min",
     f"SELECT obs_id FROM {O} WHERE s_ra > 1 AND t_max > t_min")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_id = '1' OR obs_id = '2' OR obs_id = '23523' OR obs_id = '4' "
     "OR obs_id = '60006' OR obs_id = '6'", f"SELECT obs_id FROM {O} WHERE obs_id IN ('23523', '60006')")
case("SELECT obs_id FROM ivoa.obscore WHERE t_max - t_min > 0.05", f"SELECT obs_id FROM {O} WHERE t_max - t_min > 0.05")
case("SELECT obs_id FROM ivoa.obscore WHERE s_ra = NULL", f"SELECT obs_id FROM {O} WHERE false")

# --- BETWEEN, IN, EXISTS, LIKE, ILIKE, IS NULL --------------------------------------------------------------
case("SELECT obs_id FROM ivoa.obscore WHERE s_ra BETWEEN 80 AND 90",
     f"SELECT obs_id FROM {O} WHERE s_ra >= 80 AND s_ra <= 90")
case("SELECT obs_id FROM ivoa.obscore WHERE s_ra NOT BETWEEN 80 AND 300",
     f"SELECT obs_id FROM {O} WHERE s_ra < 80 OR s_ra > 300")
case("SELECT obs_id FROM ivoa.obscore WHERE t_min BETWEEN 59001 AND 59003.5",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('60002', '60003', '60004')")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_creation_date BETWEEN '2016-01-01' AND '2016-12-31'",
     f"SELECT obs_id FROM {O} WHERE obs_collection = 'hess_dr1'")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name BETWEEN 'A' AND 'P'",
     f"SELECT obs_id FROM {O} WHERE target_name >= 'A' AND target_name <= 'P'")
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level BETWEEN 1 + 1 AND 2 * 2",
     f"SELECT obs_id FROM {O} WHERE calib_level >= 2 AND calib_level <= 4")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_id IN ('23523', '60001', 'nope')",
     f"SELECT obs_id FROM {O} WHERE obs_id = '23523' OR obs_id = '60001'")
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level NOT IN (2, 3)",
     f"SELECT obs_id FROM {O} WHERE calib_level <> 2 AND calib_level <> 3")
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level IN (1)", f"SELECT obs_id FROM {O} WHERE calib_level = 1")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_publisher_did IN (SELECT obs_publisher_did FROM "
     "obsconfig.obsconfig WHERE n_tels = 4)",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('23523', '23526', '20136')")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_publisher_did NOT IN (SELECT obs_publisher_did FROM "
     "obsconfig.obsconfig)",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('47802', '60002', '60003', '60005', '60006', '70001')")
case("SELECT obs_id FROM ivoa.obscore WHERE s_ra IN (SELECT ra_pnt - 0.5 FROM obsconfig.obsconfig)",
     f"SELECT o.obs_id FROM {O} o WHERE EXISTS (SELECT 1 FROM {C} c WHERE c.ra_pnt - 0.5 = o.s_ra)")
case("SELECT obs_id FROM ivoa.obscore AS o WHERE EXISTS (SELECT * FROM obsconfig.obsconfig AS c "
     "WHERE c.obs_publisher_did = o.obs_publisher_did AND c.zen_pnt < 40)",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('33787', '20136', '60001')")
case("SELECT obs_id FROM ivoa.obscore AS o WHERE NOT EXISTS (SELECT 1 FROM obsconfig.obsconfig AS c "
     "WHERE c.obs_publisher_did = o.obs_publisher_did)",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('47802', '60002', '60003', '60005', '60006', '70001')")
case("SELECT obs_id FROM ivoa.obscore WHERE EXISTS (SELECT 1 FROM provenance.agent WHERE type = 'Person')",
     f"SELECT obs_id FROM {O}")
case("SELECT name FROM provenance.entity e WHERE EXISTS (SELECT 1 FROM provenance.wasgeneratedby g "
     "WHERE g.entity_id = e.id)", "SELECT name FROM provenance.entity WHERE id LIKE 'ivo:%'")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name LIKE 'Crab%'",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('23523', '23526')")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name LIKE '%field%'",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('60002', '60005')")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name LIKE 'crab%'", f"SELECT obs_id FROM {O} WHERE false")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_id LIKE '6000_'",
     f"SELECT obs_id FROM {O} WHERE obs_collection = 'cta_sim'")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name NOT LIKE '%a%'",
     f"SELECT obs_id FROM {O} WHERE target_name IS NOT NULL AND strpos(target_name, 'a') = 0")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name LIKE '%back\\slash'",
     f"SELECT obs_id FROM {O} WHERE obs_id = '60006'")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name LIKE 'percent\\%%'", f"SELECT obs_id FROM {O} WHERE false")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name LIKE 'percent%' || '_under%'",
     f"SELECT obs_id FROM {O} WHERE obs_id = '60006'")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name ILIKE 'crab%'",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('23523', '23526')")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name ILIKE '%NANDÚ%'", f"SELECT obs_id FROM {O} WHERE false")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name ILIKE '%ÑANDÚ%'",
     f"SELECT obs_id FROM {O} WHERE obs_id = '60002'")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name NOT ILIKE '%A%'",
     f"SELECT obs_id FROM {O} WHERE target_name IS NOT NULL AND strpos(lower(target_name), 'a') = 0")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name IS NULL", f"SELECT obs_id FROM {O} WHERE obs_id = '70001'")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name IS NOT NULL",
     f"SELECT obs_id FROM {O} WHERE obs_id <> '70001'")
case("SELECT obs_id FROM ivoa.obscore WHERE s_region IS NULL", f"SELECT obs_id FROM {O} WHERE s_ra IS NULL")
case("SELECT name FROM provenance.activity WHERE endtime IS NULL",
     "SELECT name FROM provenance.activity WHERE id = 'act:dl3:23526'")
case("SELECT observer FROM obsconfig.obsconfig WHERE deadc IS NULL OR observer IS NULL",
     f"SELECT observer FROM {C} WHERE obs_id IN ('60004', '33787')")

# --- GROUP BY, HAVING ---------------------------------------------------------------------------------------
case("SELECT obs_collection, COUNT(*) FROM ivoa.obscore GROUP BY obs_collection",
     f"SELECT obs_collection, count(*) FROM {O} GROUP BY obs_collection")
case("SELECT obs_collection, calib_level, COUNT(*) AS n FROM ivoa.obscore GROUP BY obs_collection, calib_level",
     f"SELECT obs_collection, calib_level, count(*) FROM {O} GROUP BY 1, 2")
case("SELECT facility_name AS f, COUNT(*) FROM ivoa.obscore GROUP BY f",
     f"SELECT facility_name, count(*) FROM {O} GROUP BY facility_name")
case("SELECT calib_level * 10 AS c10, COUNT(*) FROM ivoa.obscore GROUP BY calib_level * 10",
     f"SELECT calib_level * 10, count(*) FROM {O} GROUP BY 1")
case("SELECT obs_collection, COUNT(*) FROM ivoa.obscore GROUP BY 1",
     f"SELECT obs_collection, count(*) FROM {O} GROUP BY obs_collection")
case("SELECT obs_collection, MAX(s_dec) FROM ivoa.obscore GROUP BY obs_collection HAVING COUNT(*) > 2",
     f"SELECT obs_collection, max(s_dec) FROM {O} GROUP BY obs_collection HAVING count(*) > 2")
case("SELECT obs_collection FROM ivoa.obscore GROUP BY obs_collection HAVING MIN(calib_level) < 2",
     "SELECT 'cta_sim'::text")
case("SELECT obs_collection, AVG(t_exptime) FROM ivoa.obscore GROUP BY obs_collection "
     "HAVING AVG(t_exptime) > 1300 ORDER BY obs_collection",
     f"SELECT obs_collection, avg(t_exptime) FROM {O} GROUP BY 1 HAVING avg(t_exptime) > 1300 ORDER BY 1")
case("SELECT data_rights, COUNT(*) FROM ivoa.obscore WHERE obs_collection = 'cta_sim' GROUP BY data_rights "
     "ORDER BY COUNT(*) DESC, data_rights",
     f"SELECT data_rights, count(*) FROM {O} WHERE obs_collection = 'cta_sim' GROUP BY 1 ORDER BY 2 DESC, 1")
case("SELECT COUNT(*) FROM ivoa.obscore HAVING COUNT(*) > 100", f"SELECT count(*) FROM {O} HAVING count(*) > 100")
case("SELECT o.obs_collection, COUNT(c.obs_id) FROM ivoa.obscore o LEFT JOIN obsconfig.obsconfig c "
     "ON c.obs_publisher_did = o.obs_publisher_did GROUP BY o.obs_collection",
     "SELECT 'hess_dr1'::text, 4::bigint UNION ALL SELECT 'cta_sim', 2 UNION ALL SELECT 'magic_test', 0")
case("SELECT FLOOR(s_ra / 100) AS band, COUNT(*) FROM ivoa.obscore WHERE s_ra IS NOT NULL "
     "GROUP BY FLOOR(s_ra / 100) ORDER BY band",
     f"SELECT floor(s_ra / 100), count(*) FROM {O} WHERE s_ra IS NOT NULL GROUP BY 1 ORDER BY 1")
case("SELECT agent_id, COUNT(DISTINCT activity_id) FROM provenance.wasassociatedwith GROUP BY agent_id",
     "SELECT agent_id, count(DISTINCT activity_id) FROM provenance.wasassociatedwith GROUP BY agent_id")

# --- ORDER BY, OFFSET ---------------------------------------------------------------------------------------
case("SELECT obs_id FROM ivoa.obscore ORDER BY obs_id", f"SELECT obs_id FROM {O} ORDER BY obs_id")
case("SELECT obs_id FROM ivoa.obscore ORDER BY obs_id DESC", f"SELECT obs_id FROM {O} ORDER BY obs_id DESC")
case("SELECT obs_id, s_dec FROM ivoa.obscore ORDER BY 2, 1", f"SELECT obs_id, s_dec FROM {O} ORDER BY 2, 1")
case("SELECT obs_id, s_dec AS d FROM ivoa.obscore ORDER BY d DESC, obs_id ASC",
     f"SELECT obs_id, s_dec FROM {O} ORDER BY 2 DESC, 1")
case("SELECT obs_id FROM ivoa.obscore ORDER BY s_ra", f"SELECT obs_id FROM {O} ORDER BY s_ra")
case("SELECT obs_id FROM ivoa.obscore ORDER BY s_ra + s_dec DESC, obs_id",
     f"SELECT obs_id FROM {O} ORDER BY s_ra + s_dec DESC, obs_id")
case("SELECT o.obs_id FROM ivoa.obscore o ORDER BY o.t_min DESC", f"SELECT obs_id FROM {O} ORDER BY t_min DESC")
case("SELECT obs_id, target_name FROM ivoa.obscore ORDER BY target_name, obs_id",
     f"SELECT obs_id, target_name FROM {O} ORDER BY 2, 1")
case("SELECT TOP 4 obs_id FROM ivoa.obscore ORDER BY obs_id OFFSET 2",
     f"SELECT obs_id FROM {O} ORDER BY obs_id LIMIT 4 OFFSET 2")
case("SELECT obs_id FROM ivoa.obscore ORDER BY obs_id OFFSET 10", f"SELECT obs_id FROM {O} ORDER BY obs_id OFFSET 10")
case("SELECT obs_id FROM ivoa.obscore ORDER BY obs_id OFFSET 0", f"SELECT obs_id FROM {O} ORDER BY obs_id")
case("SELECT TOP 1 obs_id FROM ivoa.obscore ORDER BY s_dec DESC OFFSET 1",
     f"SELECT obs_id FROM {O} ORDER BY s_dec DESC LIMIT 1 OFFSET 1")
case("SELECT obs_id FROM ivoa.obscore ORDER BY UPPER(target_name), obs_id",
     f"SELECT obs_id FROM {O} ORDER BY upper(target_name), obs_id")
case("SELECT obs_id, CASE WHEN s_dec > 0 THEN 'N' ELSE 'S' END AS h FROM ivoa.obscore ORDER BY h, obs_id",
     f"SELECT obs_id, CASE WHEN s_dec > 0 THEN 'N' ELSE 'S' END FROM {O} ORDER BY 2, 1")

# --- joins --------------------------------------------------------------------------------------------------
J = "c.obs_publisher_did = o.obs_publisher_did"
case(f"SELECT o.obs_id, c.n_tels FROM ivoa.obscore o JOIN obsconfig.obsconfig c ON {J}",
     f"SELECT o.obs_id, c.n_tels FROM {O} o, {C} c WHERE {J}")
case(f"SELECT o.obs_id, c.n_tels FROM ivoa.obscore AS o INNER JOIN obsconfig.obsconfig AS c ON {J}",
     f"SELECT o.obs_id, c.n_tels FROM {O} o JOIN {C} c USING (obs_publisher_did)")
case(f"SELECT o.obs_id, c.zen_pnt FROM ivoa.obscore o LEFT OUTER JOIN obsconfig.obsconfig c ON {J}",
     f"SELECT o.obs_id, c.zen_pnt FROM {O} o LEFT JOIN {C} c ON {J}")
case(f"SELECT o.obs_id, c.zen_pnt FROM ivoa.obscore o LEFT JOIN obsconfig.obsconfig c ON {J} "
     "WHERE c.zen_pnt IS NULL",
     f"SELECT obs_id, NULL::float8 FROM {O} WHERE obs_id IN ('47802', '60002', '60003', '60005', '60006', '70001')")
case(f"SELECT o.obs_id, c.run_number FROM obsconfig.obsconfig c RIGHT OUTER JOIN ivoa.obscore o ON {J}",
     f"SELECT o.obs_id, c.run_number FROM {O} o LEFT JOIN {C} c ON {J}")
case(f"SELECT o.obs_id, c.run_number FROM obsconfig.obsconfig c RIGHT JOIN ivoa.obscore o ON {J} "
     "AND c.n_tels > 3",
     f"SELECT o.obs_id, c.run_number FROM {O} o LEFT JOIN {C} c ON {J} AND c.n_tels > 3")
case("SELECT a.obs_id, b.obs_id FROM (SELECT obs_id, calib_level FROM ivoa.obscore WHERE calib_level > 2) a "
     "FULL OUTER JOIN (SELECT obs_id, calib_level FROM ivoa.obscore WHERE calib_level < 3) b ON a.obs_id = b.obs_id",
     f"SELECT CASE WHEN calib_level > 2 THEN obs_id END, CASE WHEN calib_level < 3 THEN obs_id END FROM {O}")
case("SELECT obs_id, n_tels FROM ivoa.obscore NATURAL JOIN obsconfig.obsconfig",
     f"SELECT o.obs_id, c.n_tels FROM {O} o JOIN {C} c ON {J}")
case("SELECT * FROM (SELECT obs_id, s_ra FROM ivoa.obscore) AS a NATURAL JOIN "
     "(SELECT obs_id, zen_pnt FROM obsconfig.obsconfig) AS b",
     f"SELECT c.obs_id, o.s_ra, c.zen_pnt FROM {O} o JOIN {C} c ON {J}")
case("SELECT obs_id, o.s_ra, c.zen_pnt FROM ivoa.obscore o JOIN obsconfig.obsconfig c USING (obs_id)",
     f"SELECT o.obs_id, o.s_ra, c.zen_pnt FROM {O} o JOIN {C} c ON {J}")
case("SELECT * FROM (SELECT obs_publisher_did, obs_id, s_ra FROM ivoa.obscore) AS a JOIN (SELECT "
     "obs_publisher_did, n_tels, obs_id FROM obsconfig.obsconfig) AS b USING (obs_publisher_did) WHERE n_tels = 3",
     f"SELECT * FROM (SELECT obs_publisher_did, obs_id, s_ra FROM {O}) AS a JOIN (SELECT obs_publisher_did, n_tels, "
     f"obs_id FROM {C}) AS b USING (obs_publisher_did) WHERE n_tels = 3")
case("SELECT obs_id, n_tels FROM (SELECT obs_id FROM ivoa.obscore WHERE calib_level = 3) a "
     "FULL JOIN (SELECT obs_id, n_tels FROM obsconfig.obsconfig) b USING (obs_id)",
     "SELECT coalesce(a.obs_id, b.obs_id), b.n_tels FROM (SELECT obs_id FROM ivoa.obscore WHERE calib_level = 3) a "
     "FULL JOIN (SELECT obs_id, n_tels FROM obsconfig.obsconfig) b ON a.obs_id = b.obs_id")
case("SELECT a.name, b.name FROM provenance.agent a CROSS JOIN provenance.activitydescription b",
     "SELECT a.name, b.name FROM provenance.agent a, provenance.activitydescription b")
case(f"SELECT o.obs_id, c.observer FROM ivoa.obscore o, obsconfig.obsconfig c WHERE {J} AND c.observer LIKE 'J%'",
     f"SELECT obs_id, observer FROM {C} WHERE obs_id = '20136'")
case("SELECT COUNT(*) FROM ivoa.obscore a, ivoa.obscore b", f"SELECT count(*) * count(*) FROM {O}")
case("SELECT a.obs_id, b.obs_id FROM ivoa.obscore a JOIN ivoa.obscore b ON a.target_name = b.target_name "
     "AND a.obs_id < b.obs_id", "SELECT '23523'::text, '23526'::text")
case("SELECT e.name, a.name, ag.name FROM provenance.entity e "
     "JOIN provenance.wasgeneratedby g ON g.entity_id = e.id "
     "JOIN provenance.activity a ON a.id = g.activity_id "
     "JOIN provenance.wasassociatedwith w ON w.activity_id = a.id "
     "JOIN provenance.agent ag ON ag.id = w.agent_id",
     "SELECT e.name, a.name, ag.name FROM provenance.entity e, provenance.wasgeneratedby g, provenance.activity a, "
     "provenance.wasassociatedwith w, provenance.agent ag WHERE g.entity_id = e.id AND a.id = g.activity_id "
     "AND w.activity_id = a.id AND ag.id = w.agent_id")
case("SELECT o.obs_id, x.n FROM ivoa.obscore o JOIN (SELECT obs_collection, COUNT(*) AS n FROM "
     "ivoa.obscore GROUP BY obs_collection) AS x ON x.obs_collection = o.obs_collection WHERE x.n = 1",
     f"SELECT obs_id, 1::bigint FROM {O} WHERE obs_id = '70001'")
case(f"SELECT o.obs_id, c.n_tels, e.name FROM (ivoa.obscore o JOIN obsconfig.obsconfig c ON {J}) "
     "LEFT JOIN provenance.entity e ON e.id = o.obs_publisher_did",
     f"SELECT o.obs_id, c.n_tels, e.name FROM {O} o JOIN {C} c ON {J} LEFT JOIN provenance.entity e "
     "ON e.id = o.obs_publisher_did")
case(f"SELECT o.obs_id, e.name FROM ivoa.obscore o LEFT JOIN (obsconfig.obsconfig c JOIN provenance.entity e "
     f"ON e.id = c.obs_publisher_did) ON {J}",
     f"SELECT o.obs_id, e.name FROM {O} o LEFT JOIN provenance.entity e ON e.id = o.obs_publisher_did")
case("SELECT m.collection_id, e.name FROM provenance.hadmember m JOIN provenance.entity e ON e.id = m.entity_id",
     "SELECT 'coll:crab'::text, name FROM provenance.entity WHERE entity_class = 'DatasetEntity'")
case("SELECT p.name, p.value, d.unit FROM provenance.parameter p LEFT JOIN provenance.parameterdescription d "
     "ON d.id = p.parameterdescription_id",
     "SELECT p.name, p.value, d.unit FROM provenance.parameter p LEFT JOIN provenance.parameterdescription d "
     "ON d.id = p.parameterdescription_id")
case("SELECT i.informed_id, a1.name, a2.name FROM provenance.wasinformedby i "
     "JOIN provenance.activity a1 ON a1.id = i.informed_id JOIN provenance.activity a2 ON a2.id = i.informant_id",
     "SELECT 'act:dl3:23523'::text, 'dl3 export 23523'::text, 'calibration 23523'::text")

# --- subqueries and derived tables --------------------------------------------------------------------------
case("SELECT d.obs_id FROM (SELECT obs_id, s_dec FROM ivoa.obscore WHERE s_dec > 20) AS d WHERE d.s_dec < 50",
     f"SELECT obs_id FROM {O} WHERE s_dec > 20 AND s_dec < 50")
case("SELECT x FROM (SELECT s_ra + 1 AS x FROM ivoa.obscore) AS t WHERE x > 300",
     f"SELECT s_ra + 1 FROM {O} WHERE s_ra + 1 > 300")
case("SELECT n FROM (SELECT COUNT(*) AS n FROM (SELECT DISTINCT facility_name FROM ivoa.obscore) AS f) AS g",
     f"SELECT count(DISTINCT facility_name) + 1 FROM {O}")
case("SELECT obs_id, (SELECT MAX(s_dec) FROM ivoa.obscore) FROM ivoa.obscore WHERE obs_id = '60004'",
     "SELECT '60004'::text, 89.5::float8")
case("SELECT obs_id FROM ivoa.obscore WHERE s_dec = (SELECT MIN(s_dec) FROM ivoa.obscore)",
     "SELECT '20136'::text")
case("SELECT obs_id, (SELECT c.n_tels FROM obsconfig.obsconfig c WHERE c.obs_publisher_did = o.obs_publisher_did) "
     "AS n FROM ivoa.obscore o", f"SELECT o.obs_id, c.n_tels FROM {O} o LEFT JOIN {C} c ON {J}")
case("SELECT obs_id FROM ivoa.obscore o WHERE t_exptime > (SELECT AVG(t_exptime) FROM ivoa.obscore i "
     "WHERE i.obs_collection = o.obs_collection)",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('33787', '20136', '60001', '60002', '60003')")
case("SELECT * FROM (SELECT obs_collection, COUNT(*) AS n FROM ivoa.obscore GROUP BY obs_collection) AS g "
     "WHERE n > 1 ORDER BY n", f"SELECT obs_collection, count(*) FROM {O} GROUP BY 1 HAVING count(*) > 1 ORDER BY 2")
case("SELECT d.a, d.b FROM (SELECT obs_id AS a, obs_id AS b FROM ivoa.obscore) d WHERE d.a = '60003'",
     "SELECT '60003'::text, '60003'::text")
case("SELECT t.obs_id FROM (SELECT * FROM (SELECT * FROM ivoa.obscore WHERE calib_level = 3) AS i "
     "WHERE s_dec > 0) AS t", f"SELECT obs_id FROM {O} WHERE calib_level = 3 AND s_dec > 0")
case("SELECT name FROM provenance.agent WHERE id IN (SELECT agent_id FROM provenance.wasassociatedwith "
     "WHERE activity_id IN (SELECT id FROM provenance.activity WHERE endtime IS NULL))",
     "SELECT name FROM provenance.agent WHERE id IN ('ag:pipeline', 'ag:jm')")
case("SELECT e.name, (SELECT COUNT(*) FROM provenance.used u WHERE u.entity_id = e.id) AS uses "
     "FROM provenance.entity e", "SELECT e.name, (SELECT count(*) FROM provenance.used u WHERE u.entity_id = e.id) "
     "FROM provenance.entity e")

# --- set operations -----------------------------------------------------------------------------------------
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level = 3 UNION SELECT obs_id FROM ivoa.obscore WHERE s_dec > 80",
     f"SELECT obs_id FROM {O} WHERE calib_level = 3 OR s_dec > 80")
case("SELECT obs_collection FROM ivoa.obscore UNION ALL SELECT obs_collection FROM obsconfig.obsconfig",
     f"SELECT obs_collection FROM {O} UNION ALL SELECT obs_collection FROM {C}")
case("SELECT obs_collection FROM ivoa.obscore UNION SELECT obs_collection FROM obsconfig.obsconfig",
     f"SELECT DISTINCT obs_collection FROM {O}")
case("SELECT obs_publisher_did FROM ivoa.obscore INTERSECT SELECT obs_publisher_did FROM obsconfig.obsconfig",
     f"SELECT obs_publisher_did FROM {C}")
case("SELECT facility_name FROM ivoa.obscore INTERSECT ALL SELECT facility_name FROM obsconfig.obsconfig",
     f"SELECT facility_name FROM {C}")
case("SELECT obs_publisher_did FROM ivoa.obscore EXCEPT SELECT obs_publisher_did FROM obsconfig.obsconfig",
     f"SELECT obs_publisher_did FROM {O} WHERE obs_id IN ('47802', '60002', '60003', '60005', '60006', '70001')")
case("SELECT obs_collection FROM ivoa.obscore EXCEPT ALL SELECT obs_collection FROM obsconfig.obsconfig",
     "SELECT unnest(ARRAY['cta_sim', 'cta_sim', 'cta_sim', 'cta_sim', 'hess_dr1', 'magic_test'])")
case("SELECT obs_id, s_dec FROM ivoa.obscore WHERE s_dec > 30 UNION SELECT obs_id, zen_pnt FROM "
     "obsconfig.obsconfig WHERE zen_pnt > 50 ORDER BY 2 DESC",
     f"SELECT obs_id, s_dec FROM {O} WHERE s_dec > 30 UNION SELECT obs_id, zen_pnt FROM {C} WHERE zen_pnt > 50 "
     "ORDER BY 2 DESC")
case("SELECT obs_id AS id FROM ivoa.obscore WHERE calib_level = 0 UNION SELECT obs_id FROM ivoa.obscore "
     "WHERE calib_level = 4 ORDER BY id", "SELECT '60005'::text UNION ALL SELECT '60006' ORDER BY 1")
case("SELECT obs_id FROM ivoa.obscore WHERE calib_level = 2 UNION SELECT obs_id FROM ivoa.obscore "
     "WHERE calib_level = 3 INTERSECT SELECT obs_id FROM ivoa.obscore WHERE s_dec < 0",
     f"SELECT obs_id FROM {O} WHERE calib_level = 2 OR obs_id = '60001'")
case("(SELECT obs_id FROM ivoa.obscore WHERE calib_level = 2 UNION SELECT obs_id FROM ivoa.obscore "
     "WHERE calib_level = 3) INTERSECT SELECT obs_id FROM ivoa.obscore WHERE s_dec < 0",
     f"SELECT obs_id FROM {O} WHERE calib_level IN (2, 3) AND s_dec < 0")
case("(SELECT TOP 1 obs_id FROM ivoa.obscore ORDER BY obs_id) UNION ALL (SELECT TOP 1 obs_id FROM "
     "obsconfig.obsconfig ORDER BY obs_id DESC)", "SELECT '20136'::text UNION ALL SELECT '60004'")
case("SELECT COUNT(*) FROM (SELECT obs_id FROM ivoa.obscore UNION SELECT obs_id FROM obsconfig.obsconfig) AS u",
     f"SELECT count(*) FROM {O}")
case("SELECT calib_level FROM ivoa.obscore UNION SELECT n_tels FROM obsconfig.obsconfig ORDER BY 1 OFFSET 5",
     f"SELECT calib_level FROM {O} UNION SELECT n_tels FROM {C} ORDER BY 1 OFFSET 5")

# --- WITH ---------------------------------------------------------------------------------------------------
case("WITH crab AS (SELECT * FROM ivoa.obscore WHERE target_name = 'Crab Nebula') SELECT obs_id FROM crab",
     f"SELECT obs_id FROM {O} WHERE obs_id IN ('23523', '23526')")
case("WITH a AS (SELECT obs_id, s_dec FROM ivoa.obscore), b AS (SELECT obs_id FROM a WHERE s_dec > 0) "
     "SELECT COUNT(*) FROM b", f"SELECT count(*) FROM {O} WHERE s_dec > 0")
case("WITH c (id, lvl) AS (SELECT obs_id, calib_level FROM ivoa.obscore) SELECT id FROM c WHERE lvl = 1",
     "SELECT '60004'::text")
case("WITH s AS (SELECT obs_collection, COUNT(*) AS n FROM ivoa.obscore GROUP BY obs_collection) "
     "SELECT x.obs_collection, y.obs_collection FROM s x JOIN s y ON x.n < y.n",
     "SELECT 'magic_test'::text, 'hess_dr1'::text UNION ALL SELECT 'magic_test', 'cta_sim' UNION ALL "
     "SELECT 'hess_dr1', 'cta_sim'")
case("WITH t AS (SELECT obs_id FROM ivoa.obscore WHERE calib_level = 0) SELECT obs_id FROM t UNION "
     "SELECT obs_id FROM ivoa.obscore WHERE calib_level = 4", "SELECT unnest(ARRAY['60005', '60006'])")
case("WITH near AS (SELECT obs_id, s_ra, s_dec FROM ivoa.obscore WHERE s_dec BETWEEN -1 AND 1) "
     "SELECT n.obs_id FROM near n WHERE n.obs_id IN (SELECT obs_id FROM near WHERE s_ra > 300)",
     "SELECT '60002'::text")

# --- CAST ---------------------------------------------------------------------------------------------------
case("SELECT CAST(s_ra AS INTEGER) FROM ivoa.obscore", f"SELECT CAST(s_ra AS integer) FROM {O}")
case("SELECT CAST(calib_level AS SMALLINT) FROM ivoa.obscore", f"SELECT CAST(calib_level AS smallint) FROM {O}")
case("SELECT CAST(calib_level AS BIGINT) * 10000000000 FROM ivoa.obscore",
     f"SELECT calib_level::bigint * 10000000000 FROM {O}")
case("SELECT CAST(s_dec AS REAL) FROM ivoa.obscore", f"SELECT CAST(s_dec AS real) FROM {O}")
case("SELECT CAST(calib_level AS DOUBLE PRECISION) / 3 FROM ivoa.obscore",
     f"SELECT calib_level::float8 / 3 FROM {O}")
case("SELECT CAST(obs_id AS INTEGER) + 1 FROM ivoa.obscore", f"SELECT obs_id::integer + 1 FROM {O}")
case("SELECT CAST(s_ra AS CHAR(5)) FROM ivoa.obscore", f"SELECT CAST(s_ra AS char(5)) FROM {O}")
case("SELECT CAST(target_name AS VARCHAR(4)) FROM ivoa.obscore", f"SELECT CAST(target_name AS varchar(4)) FROM {O}")
case("SELECT CAST(calib_level AS VARCHAR) || '!' FROM ivoa.obscore", f"SELECT calib_level::text || '!' FROM {O}")
case("SELECT CAST(target_name AS CHAR) FROM ivoa.obscore", f"SELECT left(target_name, 1) FROM {O}")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_creation_date < CAST('2020-01-01 00:00:00' AS TIMESTAMP)",
     f"SELECT obs_id FROM {O} WHERE obs_collection = 'hess_dr1'")
case("SELECT CAST('2024-01-15T08:00:00' AS TIMESTAMP) FROM ivoa.obscore WHERE obs_id = '60001'",
     "SELECT timestamp '2024-01-15 08:00:00'")

# --- CASE, COALESCE, NULLIF, GREATEST, LEAST ----------------------------------------------------------------
case("SELECT obs_id, CASE WHEN calib_level < 2 THEN 'low' WHEN calib_level = 2 THEN 'mid' ELSE 'high' END "
     "FROM ivoa.obscore",
     f"SELECT obs_id, CASE WHEN calib_level < 2 THEN 'low' WHEN calib_level = 2 THEN 'mid' ELSE 'high' END FROM {O}")
case("SELECT CASE calib_level WHEN 0 THEN 'raw' WHEN 4 THEN 'analysis' END FROM ivoa.obscore",
     f"SELECT CASE calib_level WHEN 0 THEN 'raw' WHEN 4 THEN 'analysis' END FROM {O}")
case("SELECT CASE WHEN s_dec > 0 THEN s_dec ELSE -s_dec END FROM ivoa.obscore", f"SELECT abs(s_dec) FROM {O}")
case("SELECT obs_id FROM ivoa.obscore WHERE CASE WHEN s_dec IS NULL THEN 0 ELSE 1 END = 0",
     f"SELECT obs_id FROM {O} WHERE s_dec IS NULL")
case("SELECT CASE WHEN calib_level > 2 THEN CASE WHEN s_dec > 0 THEN 1 ELSE 2 END ELSE 3 END FROM ivoa.obscore",
     f"SELECT CASE WHEN calib_level > 2 AND s_dec > 0 THEN 1 WHEN calib_level > 2 THEN 2 ELSE 3 END FROM {O}")
case("SELECT SUM(CASE WHEN data_rights = 'public' THEN 1 ELSE 0 END) FROM ivoa.obscore",
     f"SELECT count(*) FILTER (WHERE data_rights = 'public') FROM {O}")
case("SELECT COALESCE(target_name, 'unknown') FROM ivoa.obscore",
     f"SELECT CASE WHEN target_name IS NULL THEN 'unknown' ELSE target_name END FROM {O}")
case("SELECT COALESCE(s_fov, s_ra, -1) FROM ivoa.obscore", f"SELECT coalesce(s_fov, -1) FROM {O}")
case("SELECT COALESCE(NULL, calib_level) FROM ivoa.obscore", f"SELECT calib_level FROM {O}")
case("SELECT NULLIF(calib_level, 2) FROM ivoa.obscore",
     f"SELECT CASE WHEN calib_level = 2 THEN NULL ELSE calib_level END FROM {O}")
case("SELECT NULLIF(obs_collection, 'hess_dr1') FROM ivoa.obscore",
     f"SELECT nullif(obs_collection, 'hess_dr1') FROM {O}")
case("SELECT GREATEST(s_ra, s_dec, 100) FROM ivoa.obscore", f"SELECT greatest(s_ra, s_dec, 100) FROM {O}")
case("SELECT LEAST(t_min, t_max) FROM ivoa.obscore", f"SELECT t_min FROM {O}")
case("SELECT GREATEST(calib_level, 3) FROM ivoa.obscore",
     f"SELECT CASE WHEN calib_level > 3 THEN calib_level ELSE 3 END FROM {O}")

# --- aggregates ---------------------------------------------------------------------------------------------
case("SELECT COUNT(*) FROM ivoa.obscore", "SELECT 12::bigint")
case("SELECT COUNT(target_name) FROM ivoa.obscore", "SELECT 11::bigint")
case("SELECT COUNT(DISTINCT target_name) FROM ivoa.obscore", "SELECT 10::bigint")
case("SELECT COUNT(DISTINCT obs_collection), COUNT(ALL obs_collection) FROM ivoa.obscore",
     "SELECT 3::bigint, 12::bigint")
case("SELECT SUM(calib_level) FROM ivoa.obscore", f"SELECT sum(calib_level) FROM {O}")
case("SELECT SUM(t_exptime) FROM ivoa.obscore WHERE obs_collection = 'hess_dr1'", "SELECT 8122.3::float8")
case("SELECT SUM(access_estsize) FROM ivoa.obscore", f"SELECT sum(access_estsize)::float8 FROM {O}")
case("SELECT SUM(DISTINCT calib_level) FROM ivoa.obscore", "SELECT 10::bigint")
case("SELECT AVG(calib_level) FROM ivoa.obscore", f"SELECT avg(calib_level)::float8 FROM {O}")
case("SELECT AVG(s_fov) FROM ivoa.obscore", f"SELECT sum(s_fov) / count(s_fov) FROM {O}")
case("SELECT MIN(s_dec), MAX(s_dec) FROM ivoa.obscore", "SELECT -59.16::float8, 89.5::float8")
case("SELECT MIN(target_name), MAX(obs_creation_date) FROM ivoa.obscore",
     f"SELECT min(target_name), timestamp '2024-02-01 08:00:00' FROM {O}")
case("SELECT MIN(deadc), MAX(n_tels) FROM obsconfig.obsconfig", f"SELECT min(deadc), max(n_tels) FROM {C}")
case("SELECT COUNT(*), SUM(s_ra), AVG(s_ra), MAX(s_ra) FROM ivoa.obscore WHERE s_ra > 1000",
     "SELECT 0::bigint, NULL::float8, NULL::float8, NULL::float8")
case("SELECT COUNT(*) AS n, AVG(t_max - t_min) * 86400 AS seconds FROM ivoa.obscore",
     f"SELECT count(*), avg(t_max - t_min) * 86400 FROM {O}")
case("SELECT MAX(calib_level) - MIN(calib_level) FROM ivoa.obscore", "SELECT 4")

# --- arithmetic ---------------------------------------------------------------------------------------------
case("SELECT s_ra + s_dec, s_ra - s_dec, s_ra * s_dec, s_ra / s_dec FROM ivoa.obscore WHERE s_dec <> 0",
     f"SELECT s_ra + s_dec, s_ra - s_dec, s_ra * s_dec, s_ra / s_dec FROM {O} WHERE s_dec <> 0")
case("SELECT calib_level / 2, calib_level * 2 + 1 FROM ivoa.obscore",
     f"SELECT floor(calib_level / 2.0)::integer, 2 * calib_level + 1 FROM {O}")
case("SELECT -s_dec, - - calib_level FROM ivoa.obscore", f"SELECT 0 - s_dec, calib_level FROM {O}")
case("SELECT (s_ra + 1) * 2, s_ra + 1 * 2 FROM ivoa.obscore",
     f"SELECT s_ra * 2 + 2, s_ra + 2 FROM {O}")
case("SELECT calib_level + 0.5 FROM ivoa.obscore", f"SELECT calib_level + 0.5::float8 FROM {O}")
case("SELECT access_estsize * 1024 FROM ivoa.obscore", f"SELECT access_estsize * 1024 FROM {O}")
case("SELECT n_tels + n_tels, n_tels * 1.5, deadc * 2, deadc + n_tels FROM obsconfig.obsconfig",
     f"SELECT n_tels * 2, n_tels * 1.5::float8, deadc * 2, deadc::float8 + n_tels FROM {C}")
case("SELECT 7 / 2, 7.0 / 2, 1e3 + 1 FROM ivoa.obscore WHERE obs_id = '23523'", "SELECT 3, 3.5::float8, 1001::float8")

# --- math and trigonometric functions -----------------------------------------------------------------------
case("SELECT ABS(s_dec), ABS(calib_level - 3) FROM ivoa.obscore",
     f"SELECT CASE WHEN s_dec < 0 THEN -s_dec ELSE s_dec END, abs(calib_level - 3) FROM {O}")
case("SELECT CEILING(s_ra), FLOOR(s_ra) FROM ivoa.obscore", f"SELECT ceil(s_ra), floor(s_ra) FROM {O}")
case("SELECT CEILING(-1.5), FLOOR(-1.5) FROM ivoa.obscore WHERE obs_id = '23523'", "SELECT -1::float8, -2::float8")
case("SELECT DEGREES(PI()), RADIANS(180) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT 180::float8, 3.141592653589793::float8")
case("SELECT EXP(1), EXP(0) FROM ivoa.obscore WHERE obs_id = '23523'", "SELECT 2.718281828459045::float8, 1::float8")
case("SELECT LOG(EXP(2)), LOG(10) FROM ivoa.obscore WHERE obs_id = '23523'", "SELECT 2::float8, ln(10::float8)")
case("SELECT LOG10(1000), LOG10(access_estsize) FROM ivoa.obscore",
     f"SELECT 3::float8, ln(access_estsize::float8) / ln(10::float8) FROM {O}")
case("SELECT MOD(calib_level, 2), MOD(17, 5), MOD(-7, 3) FROM ivoa.obscore",
     f"SELECT calib_level % 2, 2, -1 FROM {O}")
case("SELECT MOD(s_ra, 100), MOD(7.5, 2) FROM ivoa.obscore",
     f"SELECT s_ra - 100 * trunc(s_ra / 100), 1.5::float8 FROM {O}")
case("SELECT PI() FROM ivoa.obscore WHERE obs_id = '23523'", "SELECT 3.141592653589793::float8")
case("SELECT POWER(2, 10), POWER(s_fov, 2), POWER(4, 0.5) FROM ivoa.obscore",
     f"SELECT 1024::float8, s_fov * s_fov, 2::float8 FROM {O}")
case("SELECT SQRT(16), SQRT(s_fov) FROM ivoa.obscore", f"SELECT 4::float8, power(s_fov, 0.5) FROM {O}")
case("SELECT ROUND(s_ra), ROUND(s_dec, 1), ROUND(t_min, 3) FROM ivoa.obscore",
     f"SELECT round(s_ra::numeric)::float8, round(s_dec::numeric, 1)::float8, "
     f"round(t_min::numeric, 3)::float8 FROM {O}")
case("SELECT ROUND(2.5), ROUND(-2.5), ROUND(0.125, 2), ROUND(1234.5, -2) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT 3::float8, -3::float8, 0.13::float8, 1200::float8")
case("SELECT ROUND(access_estsize, -3), ROUND(calib_level) FROM ivoa.obscore",
     f"SELECT (round(access_estsize / 1000.0) * 1000)::bigint, calib_level FROM {O}")
case("SELECT TRUNCATE(s_ra), TRUNCATE(s_dec, 1) FROM ivoa.obscore",
     f"SELECT trunc(s_ra), trunc(s_dec::numeric, 1)::float8 FROM {O}")
case("SELECT TRUNCATE(-2.7), TRUNCATE(2.789, 2), TRUNCATE(1789, -2) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT -2::float8, 2.78::float8, 1700")
case("SELECT COUNT(*) FROM ivoa.obscore WHERE RAND() >= 0 AND RAND() < 1", "SELECT 12::bigint")
case("SELECT COUNT(*) FROM ivoa.obscore WHERE RAND(42) BETWEEN 0 AND 1", "SELECT 12::bigint")
case("SELECT SIN(RADIANS(30)), COS(RADIANS(60)), TAN(RADIANS(45)) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT 0.5::float8, 0.5::float8, 1::float8")
case("SELECT DEGREES(ASIN(0.5)), DEGREES(ACOS(0.5)), DEGREES(ATAN(1)) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT 30::float8, 60::float8, 45::float8")
case("SELECT DEGREES(ATAN2(1, -1)), COT(RADIANS(45)) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT 135::float8, 1::float8")
case("SELECT SIN(RADIANS(s_dec)) FROM ivoa.obscore", f"SELECT sin(s_dec * pi() / 180) FROM {O}")
case("SELECT obs_id FROM ivoa.obscore WHERE COS(RADIANS(s_dec)) < 0.5",
     f"SELECT obs_id FROM {O} WHERE abs(s_dec) > 60")

# --- strings ------------------------------------------------------------------------------------------------
case("SELECT LOWER(target_name), UPPER(target_name) FROM ivoa.obscore",
     f"SELECT lower(target_name), upper(target_name) FROM {O}")
case("SELECT obs_collection || '/' || obs_id FROM ivoa.obscore", f"SELECT concat(obs_collection, '/', obs_id) FROM {O}")
case("SELECT 'run ' || calib_level || ' at ' || s_ra FROM ivoa.obscore",
     f"SELECT 'run ' || calib_level::text || ' at ' || s_ra::text FROM {O}")
case("SELECT target_name || NULL FROM ivoa.obscore", f"SELECT NULL::text FROM {O}")
case("SELECT obs_id FROM ivoa.obscore WHERE UPPER(target_name) = 'SGR A*'", "SELECT '60001'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE LOWER(obs_collection) = 'hess_dr1' AND LOWER(target_name) LIKE '%crab%'",
     f"SELECT obs_id FROM {O} WHERE target_name = 'Crab Nebula'")
case("SELECT 'adjacent' ' literals' FROM ivoa.obscore WHERE obs_id = '23523'", "SELECT 'adjacent literals'")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name = 'O''Brien''s \"field\"'", "SELECT '60005'::text")
case("SELECT 'it''s' || target_name FROM ivoa.obscore WHERE obs_id = '60005'",
     "SELECT 'it''sO''Brien''s \"field\"'")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name = 'percent%under_score back\\slash'",
     "SELECT '60006'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name = '''; DROP TABLE ivoa.obscore; --'",
     f"SELECT obs_id FROM {O} WHERE false")

# --- Unicode ------------------------------------------------------------------------------------------------
case("SELECT obs_id FROM ivoa.obscore WHERE target_name = 'Ñandú field (é)'", "SELECT '60002'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE target_name = 'RX J0852.0−4622'", "SELECT '47802'::text")
case("SELECT UPPER(target_name) FROM ivoa.obscore WHERE obs_id = '60002'", "SELECT 'ÑANDÚ FIELD (É)'")
case("SELECT observer FROM obsconfig.obsconfig WHERE observer LIKE 'J_rgen%'", "SELECT 'Jürgen Müller'::text")
case("SELECT name FROM provenance.agent WHERE name = 'Jürgen Müller'", "SELECT 'Jürgen Müller'::text")
case("SELECT 'π ≈ ' || PI() FROM ivoa.obscore WHERE obs_id = '23523'", "SELECT 'π ≈ ' || pi()::text")

# --- IN_UNIT ------------------------------------------------------------------------------------------------
case("SELECT IN_UNIT(s_fov, 'arcmin') FROM ivoa.obscore", f"SELECT s_fov * 60 FROM {O}")
case("SELECT IN_UNIT(s_ra, 'rad') FROM ivoa.obscore", f"SELECT radians(s_ra) FROM {O}")
case("SELECT IN_UNIT(t_exptime, 'h') FROM ivoa.obscore", f"SELECT t_exptime / 3600 FROM {O}")
case("SELECT IN_UNIT(em_min, 'nm') FROM ivoa.obscore", f"SELECT em_min * 1e9 FROM {O}")
case("SELECT obs_id FROM ivoa.obscore WHERE IN_UNIT(t_max - t_min, 's') > 1700",
     f"SELECT obs_id FROM {O} WHERE (t_max - t_min) * 86400 > 1700")
case("SELECT IN_UNIT(access_estsize, 'Mibyte') FROM ivoa.obscore", f"SELECT access_estsize * 1000 / 1048576.0 FROM {O}")
case("SELECT IN_UNIT(s_resolution, 'deg') FROM ivoa.obscore", f"SELECT s_resolution / 3600 FROM {O}")

# --- geometry: constructors as output values (DALI) ---------------------------------------------------------
case("SELECT POINT('ICRS', s_ra, s_dec) FROM ivoa.obscore",
     f"SELECT CASE WHEN s_ra IS NULL THEN NULL ELSE ARRAY[s_ra, s_dec] END FROM {O}")
case("SELECT POINT(s_ra, s_dec) AS p FROM ivoa.obscore WHERE s_ra IS NOT NULL",
     f"SELECT ARRAY[s_ra, s_dec] FROM {O} WHERE s_ra IS NOT NULL")
case("SELECT POINT('', 10, 20), POINT('icrs', -10, 20) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT ARRAY[10, 20]::float8[], ARRAY[-10, 20]::float8[]")
case("SELECT CIRCLE('ICRS', 83.63, 22.01, 1.5) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT ARRAY[83.63, 22.01, 1.5]::float8[]")
case("SELECT CIRCLE(POINT(s_ra, s_dec), s_fov / 2) FROM ivoa.obscore WHERE s_ra IS NOT NULL",
     f"SELECT ARRAY[s_ra, s_dec, s_fov / 2] FROM {O} WHERE s_ra IS NOT NULL")
case("SELECT CIRCLE(s_ra, s_dec, 0.5) FROM ivoa.obscore WHERE s_ra IS NOT NULL",
     f"SELECT ARRAY[s_ra, s_dec, 0.5] FROM {O} WHERE s_ra IS NOT NULL")
case("SELECT POLYGON('ICRS', 10, 20, 12, 20, 11, 22) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT ARRAY[10, 20, 12, 20, 11, 22]::float8[]")
case("SELECT POLYGON(s_ra, s_dec, s_ra + 1, s_dec, s_ra, s_dec + 1) FROM ivoa.obscore WHERE obs_id = '33787'",
     "SELECT ARRAY[329.72, -30.23, 330.72, -30.23, 329.72, -29.23]::float8[]")
case("SELECT POLYGON(POINT(1, 1), POINT(3, 1), POINT(2, 3)) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT ARRAY[1, 1, 3, 1, 2, 3]::float8[]")
case("SELECT BOX('ICRS', 10, 20, 2, 4) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT ARRAY[9, 18, 9, 22, 11, 22, 11, 18]::float8[]")
case("SELECT BOX(POINT(s_ra, s_dec), 1, 1) FROM ivoa.obscore WHERE obs_id = '60001'",
     "SELECT ARRAY[265.9168, -29.5078, 265.9168, -28.5078, 266.9168, -28.5078, 266.9168, -29.5078]::float8[]")
case("SELECT REGION('Circle ICRS 10 20 1'), REGION('Position ICRS 1.5 -2') FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT ARRAY[10, 20, 1]::float8[], ARRAY[1.5, -2]::float8[]")
case("SELECT REGION('Polygon ICRS 10 20 12 20 11 22'), REGION('Box 10 20 2 2') FROM ivoa.obscore "
     "WHERE obs_id = '23523'",
     "SELECT ARRAY[10, 20, 12, 20, 11, 22]::float8[], ARRAY[9, 19, 9, 21, 11, 21, 11, 19]::float8[]")
case("SELECT s_region FROM ivoa.obscore",
     f"SELECT 'Circle ICRS ' || s_ra || ' ' || s_dec || ' ' || (s_fov / 2) FROM {O}")
case("SELECT obs_id, s_region AS footprint FROM ivoa.obscore o WHERE o.calib_level = 3",
     f"SELECT obs_id, 'Circle ICRS ' || s_ra || ' ' || s_dec || ' 4' FROM {O} WHERE calib_level = 3")
case("SELECT d.s_region FROM (SELECT s_region FROM ivoa.obscore WHERE obs_id = '60003') AS d",
     "SELECT 'Circle ICRS 0.2 0.3 4'")

# --- geometry: CONTAINS / INTERSECTS predicates -------------------------------------------------------------
CONE = hav("s_ra", "s_dec", "83.63", "22.01")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), "
     "CIRCLE('ICRS', 83.63, 22.01, 2.5)) = 1",
     f"SELECT obs_id FROM {O} WHERE {CONE} <= 2.5")
case("SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 1))",
     f"SELECT obs_id FROM {O} WHERE {CONE} <= 1")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 1)) = 0",
     f"SELECT obs_id FROM {O} WHERE {CONE} > 1")
case("SELECT obs_id FROM ivoa.obscore WHERE 0 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 1))",
     f"SELECT obs_id FROM {O} WHERE {CONE} > 1")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 1)) <> 0",
     f"SELECT obs_id FROM {O} WHERE {CONE} <= 1")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(POINT(0, 0), 1)) = 1",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '0', '0')} <= 1")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 90, 1)) = 1",
     "SELECT '60004'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 2.5)) = 1 "
     "AND calib_level = 2 AND t_min > 53343.93", "SELECT '23526'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), POLYGON(80, 20, 90, 20, 90, 25, 80, 25)) = 1",
     "SELECT unnest(ARRAY['23523', '23526'])")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), POLYGON(84, 20, 90, 20, 90, 25, 84, 25)) = 0",
     f"SELECT obs_id FROM {O} WHERE s_ra IS NOT NULL AND obs_id <> '23526'")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), BOX(85, 22, 1, 1)) = 1",
     "SELECT '23526'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), REGION('Circle ICRS 0 0 1')) = 1",
     "SELECT unnest(ARRAY['60002', '60003'])")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(84, 22), s_region) = 1",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '84', '22')} <= s_fov / 2")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(0, 0), s_region) = 1",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '0', '0')} <= s_fov / 2")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(s_region, CIRCLE(84, 22, 10)) = 1",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '84', '22')} + s_fov / 2 <= 10")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(s_region, POLYGON(70, 10, 100, 10, 100, 35, 70, 35)) = 1",
     "SELECT unnest(ARRAY['23523', '23526'])")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(CIRCLE(83.63, 22.01, 0.5), s_region) = 1",
     "SELECT unnest(ARRAY['23523', '23526'])")
case("SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE(87.5, 22, 0.1)) = 1",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '87.5', '22')} <= s_fov / 2 + 0.1")
case("SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(CIRCLE(87.5, 22, 0.1), s_region) = 1",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '87.5', '22')} <= s_fov / 2 + 0.1")
case("SELECT obs_id FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, POLYGON(356, -1, 359, -1, 359, 1, 356, 1))",
     "SELECT unnest(ARRAY['60002', '60003'])")
case("SELECT obs_id FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, POLYGON(350, -1, 356, -1, 356, 1, 350, 1))",
     "SELECT '60002'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(POINT(1, 1), s_region) = 1",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '1', '1')} <= s_fov / 2")
case("SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, POINT(359, -1)) = 1",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '359', '-1')} <= s_fov / 2")
case("SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE(0, 0, 1)) = 0",
     f"SELECT obs_id FROM {O} WHERE s_ra IS NOT NULL AND obs_id NOT IN ('60002', '60003')")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(s_ra + 1, s_dec, 2)) = 1",
     f"SELECT obs_id FROM {O} WHERE s_ra IS NOT NULL")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 2.5)) = 1 "
     "OR CONTAINS(POINT(s_ra, s_dec), CIRCLE('ICRS', 329.72, -30.23, 1)) = 1",
     "SELECT unnest(ARRAY['23523', '23526', '33787'])")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 2.5)) > 0",
     f"SELECT obs_id FROM {O} WHERE {CONE} <= 2.5")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 2.5)) < 1",
     f"SELECT obs_id FROM {O} WHERE {CONE} > 2.5")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 2.5))",
     f"SELECT obs_id FROM {O} WHERE {CONE} <= 2.5")
case("SELECT obs_id FROM ivoa.obscore WHERE NOT (CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 2.5)) = 1)",
     f"SELECT obs_id FROM {O} WHERE {CONE} > 2.5")

# --- geometry: predicates as values -------------------------------------------------------------------------
case("SELECT obs_id, CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 0, 1)) FROM ivoa.obscore",
     f"SELECT obs_id, ({hav('s_ra', 's_dec', '0', '0')} <= 1)::integer FROM {O}")
case("SELECT SUM(CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 2.5))) FROM ivoa.obscore",
     "SELECT 2::bigint")
case("SELECT obs_id, INTERSECTS(s_region, CIRCLE(0, 0, 1)) AS hit FROM ivoa.obscore ORDER BY hit DESC, obs_id",
     f"SELECT obs_id, ({hav('s_ra', 's_dec', '0', '0')} <= s_fov / 2 + 1)::integer FROM {O} ORDER BY 2 DESC, 1")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.63, 22.01, 2.5)) "
     "+ CONTAINS(POINT(s_ra, s_dec), CIRCLE(85.25, 22.01, 0.1)) = 2", "SELECT '23526'::text")
case("SELECT COUNT(*) FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, 0, 1)) IS NULL",
     "SELECT 1::bigint")

# --- geometry: DISTANCE -------------------------------------------------------------------------------------
case("SELECT obs_id, DISTANCE(POINT(s_ra, s_dec), POINT(83.63, 22.01)) FROM ivoa.obscore",
     f"SELECT obs_id, {CONE} FROM {O}")
case("SELECT obs_id, DISTANCE(s_ra, s_dec, 0, 0) AS d FROM ivoa.obscore ORDER BY d",
     f"SELECT obs_id, {hav('s_ra', 's_dec', '0', '0')} FROM {O} ORDER BY 2")
case("SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(POINT(s_ra, s_dec), POINT(83.63, 22.01)) < 2",
     f"SELECT obs_id FROM {O} WHERE {CONE} < 2")
case("SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(POINT(83.63, 22.01), POINT(s_ra, s_dec)) <= 1.5",
     "SELECT '23523'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE 2 > DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 0, 0))",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '0', '0')} < 2")
case("SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(POINT(s_ra, s_dec), POINT(83.63, 22.01)) > 100",
     f"SELECT obs_id FROM {O} WHERE {CONE} > 100")
case("SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(POINT(s_ra, s_dec), POINT(83.63, 22.01)) < 120",
     f"SELECT obs_id FROM {O} WHERE {CONE} < 120")
case("SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(s_ra, s_dec, 266.4, -29) < 0.1", "SELECT '60001'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(POINT(s_ra, s_dec), POINT(0, 0)) < s_fov / 2",
     f"SELECT obs_id FROM {O} WHERE {hav('s_ra', 's_dec', '0', '0')} < s_fov / 2")
case("SELECT a.obs_id, b.obs_id FROM ivoa.obscore a JOIN ivoa.obscore b ON "
     "DISTANCE(POINT(a.s_ra, a.s_dec), POINT(b.s_ra, b.s_dec)) < 2 AND a.obs_id < b.obs_id",
     "SELECT '23523'::text, '23526'::text UNION ALL SELECT '60002', '60003'")
case("SELECT o.obs_id, DISTANCE(POINT(o.s_ra, o.s_dec), POINT(c.ra_pnt, c.dec_pnt)) FROM ivoa.obscore o "
     f"JOIN obsconfig.obsconfig c ON {J}",
     f"SELECT o.obs_id, {hav('o.s_ra', 'o.s_dec', 'c.ra_pnt', 'c.dec_pnt')} FROM {O} o JOIN {C} c ON {J}")
case("SELECT TOP 1 obs_id FROM ivoa.obscore WHERE s_ra IS NOT NULL ORDER BY DISTANCE(POINT(s_ra, s_dec), "
     "POINT(360, 0))", "SELECT '60003'::text")

# --- geometry: AREA, CENTROID, COORD1/2, COORDSYS -----------------------------------------------------------
case("SELECT obs_id, AREA(s_region) FROM ivoa.obscore",
     f"SELECT obs_id, 2 * pi() * (1 - cos(radians(s_fov / 2))) * power(180 / pi(), 2) FROM {O}")
case("SELECT AREA(CIRCLE(0, 0, 1)), AREA(POINT(1, 2)) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT 2 * pi() * (1 - cos(radians(1))) * power(180 / pi(), 2), 0::float8")
case("SELECT AREA(POLYGON(0, 0, 1, 0, 0, 1)) FROM ivoa.obscore WHERE obs_id = '23523'",
     # spherical excess of the triangle a=(0,0), b=(1,0), c=(0,1): 2 atan2(a.(b x c), 1 + a.b + b.c + c.a)
     "SELECT degrees(degrees(2 * atan2(power(sin(radians(1)), 2), power(1 + cos(radians(1)), 2))))")
case("SELECT obs_id FROM ivoa.obscore WHERE AREA(BOX(0, 0, 2, 2)) > AREA(CIRCLE(0, 0, 1)) AND calib_level = 4",
     "SELECT '60006'::text")
case("SELECT CENTROID(s_region) FROM ivoa.obscore WHERE s_region IS NOT NULL",
     f"SELECT ARRAY[s_ra, s_dec] FROM {O} WHERE s_region IS NOT NULL")
case("SELECT CENTROID(CIRCLE(10, 20, 3)), CENTROID(POINT(5, 6)) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT ARRAY[10, 20]::float8[], ARRAY[5, 6]::float8[]")
case("SELECT CENTROID(POLYGON(9, -1, 11, -1, 11, 1, 9, 1)) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT ARRAY[10, 0]::float8[]")
case("SELECT CENTROID(BOX(200, 0, 2, 3)), CENTROID(POLYGON(POINT(5, 5), POINT(6, 5), POINT(5.5, 6))) "
     "FROM ivoa.obscore WHERE obs_id = '23523'",
     # symmetric box; the triangle's centroid from a numerical integration over its area
     "SELECT ARRAY[200, 0]::float8[], ARRAY[5.5, 5.333465983082]::float8[]")
case("SELECT obs_id, CENTROID(BOX(s_ra, 0, 2, 2)) FROM ivoa.obscore WHERE s_ra IS NOT NULL",
     f"SELECT obs_id, ARRAY[s_ra, 0] FROM {O} WHERE s_ra IS NOT NULL")
case("SELECT COORD1(CENTROID(POLYGON(5 + 0 * s_ra, 5, 6, 5, 5.5, 6))), "
     "COORD2(CENTROID(POLYGON(5 + 0 * s_ra, 5, 6, 5, 5.5, 6))) FROM ivoa.obscore WHERE obs_id = '23523'",
     "SELECT 5.5::float8, 5.333465983082::float8")
case("SELECT COORD1(POINT(s_ra, s_dec)), COORD2(POINT(s_ra, s_dec)) FROM ivoa.obscore",
     f"SELECT s_ra, s_dec FROM {O}")
case("SELECT COORD1(POINT(-10, 5)), COORD1(POINT(370, 5)), COORD2(POINT(0, -45)) FROM ivoa.obscore "
     "WHERE obs_id = '23523'", "SELECT 350::float8, 10::float8, -45::float8")
case("SELECT COORD1(CENTROID(s_region)) AS ra, COORD2(CENTROID(s_region)) AS dec FROM ivoa.obscore",
     f"SELECT s_ra, s_dec FROM {O}")
case("SELECT obs_id FROM ivoa.obscore WHERE COORD2(CENTROID(s_region)) > 80", "SELECT '60004'::text")
case("SELECT COORDSYS(POINT(1, 2)), COORDSYS(s_region) FROM ivoa.obscore",
     f"SELECT 'ICRS'::text, CASE WHEN s_ra IS NULL THEN NULL ELSE 'ICRS' END FROM {O}")

# --- geometry through derived tables and CTEs ---------------------------------------------------------------
case("SELECT d.obs_id FROM (SELECT obs_id, POINT(s_ra, s_dec) AS p FROM ivoa.obscore) AS d "
     "WHERE CONTAINS(d.p, CIRCLE(83.63, 22.01, 2.5)) = 1", "SELECT unnest(ARRAY['23523', '23526'])")
case("SELECT p FROM (SELECT POINT(s_ra, s_dec) AS p FROM ivoa.obscore WHERE obs_id = '60003') AS d",
     "SELECT ARRAY[0.2, 0.3]::float8[]")
case("WITH cones AS (SELECT obs_id, CIRCLE(s_ra, s_dec, 1) AS c FROM ivoa.obscore WHERE s_ra IS NOT NULL) "
     "SELECT a.obs_id, b.obs_id FROM cones a, cones b WHERE INTERSECTS(a.c, b.c) = 1 AND a.obs_id < b.obs_id",
     "SELECT '23523'::text, '23526'::text UNION ALL SELECT '60002', '60003'")
case("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), (SELECT s_region FROM ivoa.obscore "
     "WHERE obs_id = '60003')) = 1", "SELECT unnest(ARRAY['60002', '60003'])")
case("SELECT o.obs_id FROM ivoa.obscore o JOIN ivoa.obscore p ON CONTAINS(POINT(o.s_ra, o.s_dec), p.s_region) = 1 "
     "WHERE p.obs_id = '23526'", "SELECT unnest(ARRAY['23523', '23526'])")

# --- UDFs ---------------------------------------------------------------------------------------------------
case("SELECT obs_id FROM ivoa.obscore WHERE ivo_nocasematch(target_name, 'crab%') = 1",
     "SELECT unnest(ARRAY['23523', '23526'])")
case("SELECT obs_id, ivo_nocasematch(obs_collection, 'HESS%') FROM ivoa.obscore",
     f"SELECT obs_id, (obs_collection ILIKE 'hess%')::integer FROM {O}")
case("SELECT obs_id FROM ivoa.obscore WHERE ivo_hasword(target_name, 'nebula') = 1",
     "SELECT unnest(ARRAY['23523', '23526'])")
case("SELECT obs_id FROM ivoa.obscore WHERE ivo_hasword(target_name, 'neb') = 1", f"SELECT obs_id FROM {O} WHERE false")
case("SELECT observer FROM obsconfig.obsconfig WHERE ivo_hashlist_has('hinton#simulation', observer) = 1",
     f"SELECT observer FROM {C} WHERE observer IN ('Hinton', 'simulation')")
case("SELECT COUNT(*) FROM (SELECT ivo_string_agg(obs_id, ',') AS s FROM ivoa.obscore WHERE calib_level < 2) "
     "AS t WHERE s IN ('60004,60005', '60005,60004')", "SELECT 1::bigint")
case("SELECT LENGTH_OF FROM (SELECT ivo_string_agg(calib_level, '') AS LENGTH_OF FROM ivoa.obscore "
     "WHERE obs_id = '60006') AS t", "SELECT '4'::text")

# --- MAXREC-independent limits and odd but valid shapes -----------------------------------------------------
case("SELECT TOP 100 * FROM provenance.entity ORDER BY id", "SELECT * FROM provenance.entity ORDER BY id")
case("(SELECT obs_id FROM ivoa.obscore WHERE calib_level = 1)", "SELECT '60004'::text")
case("SELECT obs_id FROM ivoa.obscore WHERE obs_id IN (SELECT obs_id FROM ivoa.obscore WHERE obs_id IN "
     "(SELECT obs_id FROM obsconfig.obsconfig WHERE n_tels > 5))", "SELECT unnest(ARRAY['60001', '60004'])")
case("SELECT entity_class, COUNT(*) FROM provenance.entity GROUP BY entity_class ORDER BY entity_class",
     "SELECT entity_class, count(*) FROM provenance.entity GROUP BY 1 ORDER BY 1")
case("SELECT a.name, d.version FROM provenance.activity a JOIN provenance.activitydescription d "
     "ON d.id = a.activitydescription_id WHERE d.version > '2'",
     "SELECT name, '2.3'::text FROM provenance.activity WHERE activitydescription_id = 'ad:dl3'")
case("SELECT g.role, e.location FROM provenance.wasgeneratedby g, provenance.entity e WHERE e.id = g.entity_id "
     "AND e.generatedattime < '2016-05-02 11:00'", "SELECT 'output'::text, '/data/23523.fits'::text")
case("SELECT u.role, u.time FROM provenance.used u WHERE u.time IS NOT NULL ORDER BY u.time",
     "SELECT role, time FROM provenance.used WHERE time IS NOT NULL ORDER BY time")
case("SELECT d.name, d.content_type FROM provenance.entitydescription d",
     "SELECT name, content_type FROM provenance.entitydescription")
case("SELECT w.generatedentity_id, w.usedentity_id FROM provenance.wasderivedfrom w",
     "SELECT generatedentity_id, usedentity_id FROM provenance.wasderivedfrom")
case("SELECT t.agent_id, t.role FROM provenance.wasattributedto t", "SELECT 'ag:hess'::text, 'publisher'::text")
case("SELECT table_name, COUNT(*) FROM tap_schema.columns WHERE table_name LIKE 'ivoa.%' GROUP BY table_name",
     "SELECT table_name, count(*) FROM tap_schema.columns WHERE table_name LIKE 'ivoa.%' GROUP BY 1")
case("SELECT k.key_id, k.target_table FROM tap_schema.keys k JOIN tap_schema.key_columns c ON c.key_id = k.key_id "
     "WHERE k.from_table = 'tap_schema.columns'",
     "SELECT k.key_id, k.target_table FROM tap_schema.keys k JOIN tap_schema.key_columns c USING (key_id) "
     "WHERE k.from_table = 'tap_schema.columns'")
