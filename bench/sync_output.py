"""Benchmark of the sync output pipeline: rows/s and peak RSS per format, next to psql COPY and astropy.

    .venv/bin/python -m bench.sync_output [--rows 1000000] [--astropy-rows 100000] [--formats ...]

Creates a database with N synthetic obscore-like rows (19 columns) on the server of
TAPSERVER_DATABASE_URL, then measures, each in a fresh process (so peak RSS is per run):
``psql -c "COPY (query) TO STDOUT"`` (the database's own speed), ``stream_query`` in each format
(in-process, output discarded), and astropy's VOTable BINARY2 writer on rows already in memory.
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench.procfs import status_mb
from bench.report import Figure, command_line, save
from tapserver.formats import find_format
from tapserver.tap.results import stream_query
from tapserver.votable.fields import ResultColumn

RC = ResultColumn
COLUMNS = [
    RC("dataproduct_type", "char", "*", ucd="meta.code.class"),
    RC("calib_level", "int", ucd="meta.code;obs.calib"),
    RC("obs_collection", "char", "*", ucd="meta.id"),
    RC("obs_id", "char", "*", ucd="meta.id"),
    RC("obs_publisher_did", "char", "*", ucd="meta.ref.ivoid"),
    RC("access_url", "char", "*", ucd="meta.ref.url"),
    RC("access_format", "char", "*", ucd="meta.code.mime"),
    RC("access_estsize", "long", unit="kbyte"),
    RC("target_name", "char", "*", ucd="meta.id;src"),
    RC("s_ra", "double", unit="deg", ucd="pos.eq.ra"),
    RC("s_dec", "double", unit="deg", ucd="pos.eq.dec"),
    RC("s_fov", "double", unit="deg"),
    RC("s_region", "char", "*", xtype="adql:REGION"),
    RC("s_resolution", "double", unit="arcsec"),
    RC("t_min", "double", unit="d"),
    RC("t_max", "double", unit="d"),
    RC("t_exptime", "double", unit="s"),
    RC("em_min", "double", unit="m"),
    RC("obs_release_date", "char", "*", xtype="timestamp"),
]
LABELS = {"votable": "VOTable BINARY2 (default)", "votable/td": "VOTable TABLEDATA", "votable/b": "VOTable BINARY",
          "csv": "CSV", "tsv": "TSV", "parquet": "Parquet", "fits": "FITS"}
QUERY = "SELECT " + ", ".join(c.name for c in COLUMNS) + " FROM bench_obscore"

CREATE = """
CREATE TABLE bench_obscore AS
SELECT 'event'::text AS dataproduct_type, 2 AS calib_level, 'hess_dr1'::text AS obs_collection,
  (20000 + i)::text AS obs_id, 'ivo://example.org/hess?' || (20000 + i) AS obs_publisher_did,
  'https://example.org/datalink?ID=ivo%3A%2F%2Fexample.org%2Fhess%3F' || i AS access_url,
  'application/x-votable+xml;content=datalink'::text AS access_format,
  (i % 9000 + 100)::bigint AS access_estsize,
  CASE WHEN i % 7 = 0 THEN NULL ELSE 'Crab Nebula ' || (i % 50) END AS target_name,
  ((i * 0.0137) % 360)::float8 AS s_ra, (((i * 0.031) % 180) - 90)::float8 AS s_dec, 5.0::float8 AS s_fov,
  'Circle ICRS ' || round(((i * 0.0137) % 360)::numeric, 4) || ' '
    || round((((i * 0.031) % 180) - 90)::numeric, 4) || ' 2.5' AS s_region,
  0.1::float8 AS s_resolution, (53000 + i * 0.01)::float8 AS t_min, (53000 + i * 0.01 + 0.02)::float8 AS t_max,
  1680.5::float8 AS t_exptime, CASE WHEN i % 11 = 0 THEN NULL ELSE 1.2e-19 END::float8 AS em_min,
  timestamp '2004-01-01' + i * interval '1 minute' AS obs_release_date
FROM generate_series(1, {rows}) AS i
"""


def server_dsn() -> str:
    raw = os.environ.get("TAPSERVER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return make_url(raw).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(dsn: str, name: str) -> str:
    return make_url(dsn).set(database=name).render_as_string(hide_password=False)


def peak_rss_mb() -> float:
    """Peak RSS of this process image (VmHWM: unlike ru_maxrss it does not inherit the parent's peak)."""
    peak = status_mb("self", "VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_format(dsn: str, fmt: str, batch_rows: int, query: str = QUERY) -> dict[str, Any]:
    """Stream the query in one format, discarding the bytes; rows/s, bytes and peak RSS."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TRANSACTION READ ONLY")
        start = time.perf_counter()
        stream = stream_query(conn, query, COLUMNS, find_format(fmt), maxrec=None, batch_rows=batch_rows)
        size = 0
        largest = 0
        for chunk in stream:
            size += len(chunk)
            largest = max(largest, len(chunk))
        elapsed = time.perf_counter() - start
        conn.rollback()
    if stream.error is not None:
        raise RuntimeError(stream.error.message)
    return {"what": fmt, "rows": stream.rows, "seconds": elapsed, "rows_per_s": stream.rows / elapsed,
            "mbytes": size / 1e6, "largest_chunk_kb": largest / 1024, "peak_rss_mb": peak_rss_mb()}


def run_astropy(dsn: str, rows: int) -> dict[str, Any]:
    """astropy's VOTable BINARY2 writer on rows already fetched (the write alone is timed)."""
    import io

    from astropy.io.votable import from_table
    from astropy.table import Table

    with psycopg.connect(dsn) as conn:
        data = conn.execute(QUERY + f" LIMIT {rows}").fetchall()
    columns = list(zip(*data, strict=True))
    arrays: list[list[Any]] = []
    for meta, values in zip(COLUMNS, columns, strict=True):
        if meta.datatype == "char":
            arrays.append(["" if v is None else (v.isoformat() if hasattr(v, "isoformat") else v)
                           for v in values])
        elif meta.datatype == "double":
            arrays.append([float("nan") if v is None else v for v in values])
        else:
            arrays.append([0 if v is None else v for v in values])
    table = Table(arrays, names=[c.name for c in COLUMNS])
    start = time.perf_counter()
    out = io.BytesIO()
    from_table(table).to_xml(out, tabledata_format="binary2")
    elapsed = time.perf_counter() - start
    return {"what": "astropy votable binary2 writer", "rows": len(data), "seconds": elapsed,
            "rows_per_s": len(data) / elapsed, "mbytes": len(out.getvalue()) / 1e6,
            "peak_rss_mb": peak_rss_mb()}


def run_psql(dsn: str, rows: int) -> dict[str, Any]:
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(["/usr/bin/psql", dsn, "-X", "-q", "-c", f"COPY ({QUERY}) TO STDOUT"], stdout=sink,
                       check=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"what": "psql COPY text", "rows": rows, "seconds": elapsed, "rows_per_s": rows / elapsed,
            "peak_rss_mb": peak}


def child(args: list[str]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter (peak RSS is per process)."""
    out = subprocess.run([sys.executable, "-m", "bench.sync_output", "--child", *args], capture_output=True,
                         text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"{' '.join(args[:1])} run failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--astropy-rows", type=int, default=100_000)
    parser.add_argument("--batch-rows", type=int, default=5000)
    parser.add_argument("--formats", nargs="*",
                        default=["votable", "votable/td", "votable/b", "csv", "tsv", "parquet", "fits"])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, dsn, *rest = args.child
        if kind == "format":
            result = run_format(dsn, rest[0], int(rest[1]))
        elif kind == "astropy":
            result = run_astropy(dsn, int(rest[0]))
        else:
            result = run_psql(dsn, int(rest[0]))
        print(json.dumps(result))
        return 0

    server = with_database(server_dsn(), "postgres")  # the maintenance database: the configured one may not exist
    name = f"tapserver_bench_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = with_database(server, name)
    try:
        print(f"creating {args.rows:,} obscore-like rows ({len(COLUMNS)} columns)...", file=sys.stderr)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(CREATE.replace("{rows}", str(int(args.rows))))
            conn.execute("VACUUM ANALYZE bench_obscore")
        results = [child(["psql", dsn, str(args.rows)])]
        results += [child(["format", dsn, fmt, str(args.batch_rows)]) for fmt in args.formats]
        results.append(child(["astropy", dsn, str(min(args.astropy_rows, args.rows))]))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    copy_rate = results[0]["rows_per_s"]
    print(f"{'what':34} {'rows':>9} {'s':>7} {'rows/s':>10} {'vs COPY':>8} {'MB':>8} {'peak RSS MB':>12}")
    for r in results:
        print(f"{r['what']:34} {r['rows']:>9,} {r['seconds']:>7.2f} {r['rows_per_s']:>10,.0f} "
              f"{r['rows_per_s'] / copy_rate:>8.2f} {r.get('mbytes', float('nan')):>8.1f} "
              f"{r['peak_rss_mb']:>12.1f}")
    by_name = {r["what"]: r for r in results}
    astropy = results[-1]
    if "votable" in by_name:
        b2 = by_name["votable"]["rows_per_s"]
        print(f"\nBINARY2: {b2 / copy_rate:.2f} x psql COPY (target >= 0.33), "
              f"{b2 / astropy['rows_per_s']:.1f} x astropy's writer (target >= 10)")
    copy = f"psql COPY text ({args.rows:,} rows)"
    figures = []
    for r in results[1:-1]:
        fmt = r["what"]
        figures.append(Figure(f"stream_query, {LABELS.get(fmt, fmt)}", r["rows_per_s"], "rows/s", copy, copy_rate,
                              **({"target": "≥ 0.33 × COPY", "met": r["rows_per_s"] >= copy_rate / 3}
                                 if fmt == "votable" else {})))
    if "votable" in by_name:
        b2 = by_name["votable"]["rows_per_s"]
        figures.append(Figure("stream_query, VOTable BINARY2, next to astropy", b2, "rows/s",
                              f"astropy BINARY2 writer ({astropy['rows']:,} rows in memory)",
                              astropy["rows_per_s"], "≥ 10 × astropy", met=b2 >= 10 * astropy["rows_per_s"]))
    if len(results) > 2:
        fattest = max(results[1:-1], key=lambda r: r["peak_rss_mb"])
        figures.append(Figure(f"peak RSS, largest of the formats ({LABELS.get(fattest['what'], fattest['what'])})",
                              fattest["peak_rss_mb"], "MB", target="< 300 MB", higher_is_better=False,
                              met=fattest["peak_rss_mb"] < 300))
    save("sync_output", command_line("bench.sync_output", argv), figures,
         {"rows": args.rows, "columns": len(COLUMNS), "batch_rows": args.batch_rows, "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
