"""Real-shaped ObsCore rows for the output benchmarks: ingest real DL3 files, then replicate their rows.

The FACT open-data files of demo/data/fact are ingested with their collection config (demo/fact.toml), so
every column a real archive fills is filled by the ingester itself (titles, creator, DataLink URLs, bibcode,
regions, energies, ...). :func:`replicate` then copies those rows with ``INSERT ... SELECT ...
generate_series`` until the table holds the number of rows asked for, giving each copy its own identifiers
(``obs_id``, ``obs_publisher_did``, ``access_url``, ``obs_title``), its own position (``s_ra``, ``s_dec`` and
the ``s_region`` circle around it) and its own time range, and keeping every other value as ingested. No
text column the ingester fills is ever NULL in the copies.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import psycopg

from ingest.cli import add_arguments, run
from tapserver.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
FACT_DATA = ROOT / "demo" / "data" / "fact"
FACT_CONFIG = ROOT / "demo" / "fact.toml"

# Copy g of seed row o: ids get the suffix "-g", the pointing moves over the sky, times by half a day.
REPLICATE = """
INSERT INTO ivoa.obscore
SELECT o.dataproduct_type, o.dataproduct_subtype, o.calib_level, o.obs_collection,
  o.obs_id || '-' || g, replace(o.obs_title, o.obs_id, o.obs_id || '-' || g), o.obs_creation_date,
  o.obs_creator_name, o.obs_creator_did, o.obs_publisher_did || '-' || g, o.publisher_id, o.bib_reference,
  o.data_rights, o.obs_release_date + g * interval '1 hour', o.proposal_id, o.access_url || '-' || g,
  o.access_format, o.access_estsize + g %% 97, o.target_name, o.target_class,
  p.ra, p.dec, o.s_fov, scircle(spoint(radians(p.ra), radians(p.dec)), radius(o.s_region)), o.s_resolution,
  o.s_resolution_min, o.s_resolution_max, o.s_xel1, o.s_xel2, o.s_calib_status,
  o.t_min + g * 0.5, o.t_max + g * 0.5, o.t_exptime, o.t_resolution, o.t_xel, o.t_calib_status,
  o.em_min, o.em_max, o.em_res_power, o.em_xel, o.em_ucd, o.em_unit, o.em_calib_status, o.o_ucd,
  o.pol_states, o.pol_xel, o.facility_name, o.instrument_name
FROM (SELECT *, row_number() OVER (ORDER BY obs_publisher_did) - 1 AS k, count(*) OVER () AS n
      FROM ivoa.obscore) AS o
CROSS JOIN generate_series(1, %(copies)s) AS g
CROSS JOIN LATERAL (SELECT mod((o.s_ra + g * 0.137)::numeric, 360)::float8 AS ra,
                           greatest(-89.0, least(89.0, o.s_dec + ((g * 7) %% 160 - 80) * 0.5))::float8 AS dec) AS p
WHERE g * o.n + o.k < %(rows)s
"""

# Columns that every ingested row fills (what a real archive serves): the benchmark queries select these.
FILLED_SQL = """
SELECT a.attname FROM pg_attribute a
WHERE a.attrelid = 'ivoa.obscore'::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def ingest_fact(database_url: str) -> None:
    """Ingest the FACT demo files into the (migrated) database."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(FACT_DATA), "--config", str(FACT_CONFIG), "--jobs", "1", "--quiet"])
    if run(args, load_settings(database_url=database_url)):
        raise RuntimeError(f"ingesting {FACT_DATA} failed")


def filled_columns(conn: psycopg.Connection) -> list[str]:
    """The obscore columns that are non-NULL in every row of the table."""
    names = [row[0] for row in conn.execute(FILLED_SQL)]
    counts = conn.execute("SELECT count(*), " + ", ".join(f'count("{n}")' for n in names)
                          + " FROM ivoa.obscore").fetchone()
    assert counts is not None and counts[0] > 0, "no seed rows"
    return [n for n, c in zip(names, counts[1:], strict=True) if c == counts[0]]


def replicate(conn: psycopg.Connection, rows: int) -> int:
    """Grow ivoa.obscore (holding the ingested seed rows) to ``rows`` rows; returns the row count."""
    seed = conn.execute("SELECT count(*) FROM ivoa.obscore").fetchone()
    assert seed is not None and seed[0] > 0, "ingest the seed rows first"
    copies = max(0, -(-(rows - seed[0]) // seed[0]))
    if copies:
        conn.execute(REPLICATE, {"copies": copies, "rows": rows})
    conn.execute("VACUUM ANALYZE ivoa.obscore")
    total = conn.execute("SELECT count(*) FROM ivoa.obscore").fetchone()
    assert total is not None
    return int(total[0])


def real_obscore(database_url: str, rows: int) -> list[str]:
    """Ingest the FACT files into the migrated database at ``database_url``, replicate to ``rows`` rows;
    returns the filled columns (those the benchmarks select)."""
    ingest_fact(database_url)
    raw = database_url.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as conn:
        filled = filled_columns(conn)
        replicate(conn, rows)
    return filled
