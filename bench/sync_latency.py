"""Latency of small sync queries over HTTP, next to the same SQL run by psql and by psycopg in-process.

    .venv/bin/python -m bench.sync_latency [--rows 100000] [--runs 30]

A benchmark database with ``--rows`` synthetic ObsCore rows (uniform over the sky) is created and dropped;
a real `tapserver serve` answers the queries over HTTP (one keep-alive client, as pyvo uses).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from typing import Any

import httpx
import psycopg

from bench.report import Figure, command_line, save
from tapserver.config import load_settings
from tapserver.migrate import upgrade
from tests.dbutil import throwaway_database
from tests.e2e.server import running_server

QUERIES = {
    "top10": "SELECT TOP 10 * FROM ivoa.obscore",
    "cone": "SELECT obs_id, s_ra, s_dec, t_min, t_max, em_min, em_max FROM ivoa.obscore "
            "WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.63, 22.01, 2.8)) = 1",
    "tap_schema": "SELECT * FROM TAP_SCHEMA.columns",
}
LABELS = {"top10": "`SELECT TOP 10 * FROM ivoa.obscore`", "cone": "cone search (2.8°)",
          "tap_schema": "`SELECT * FROM TAP_SCHEMA.columns`"}
TARGETS_MS = {"top10": 10.0, "cone": 15.0, "tap_schema": 10.0}  # medians over HTTP

FILL = """
INSERT INTO ivoa.obscore (dataproduct_type, calib_level, obs_collection, obs_id, obs_publisher_did, access_format,
    access_estsize, target_name, s_ra, s_dec, s_fov, s_region, t_min, t_max, t_exptime, em_min, em_max,
    facility_name, instrument_name, pol_xel, data_rights)
SELECT 'event', 2, 'bench', i::text, 'ivo://bench/obs?' || i, 'application/x-votable+xml;content=datalink',
    4000 + i %% 1000, 'target ' || (i %% 500), ra, dec, 5.0,
    scircle(spoint(radians(ra), radians(dec)), radians(2.5)), 55000 + i * 0.01, 55000 + i * 0.01 + 0.02,
    1680.0, 1e-19, 1e-17, 'BENCH', 'camera', 0, 'public'
FROM (SELECT i, random() * 360 AS ra, degrees(asin(2 * random() - 1)) AS dec
        FROM generate_series(1, %(rows)s) AS i) AS g
"""


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": statistics.median(ordered) * 1000,
            "p95_ms": ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with throwaway_database("tapserver_bench_latency") as url:
        raw = url.render_as_string(hide_password=False).replace("+psycopg", "")
        upgrade(load_settings(database_url=raw))
        with psycopg.connect(raw) as conn:
            conn.execute(FILL, {"rows": args.rows})
            conn.execute("ANALYZE ivoa.obscore")
        translations = {}
        with running_server(raw) as base, httpx.Client(timeout=60) as client:
            for name, adql in QUERIES.items():
                http: list[float] = []
                rows = 0
                for run in range(args.runs + 3):
                    start = time.perf_counter()
                    response = client.post(f"{base}/tap/sync", data={"LANG": "ADQL", "QUERY": adql})
                    elapsed = time.perf_counter() - start
                    response.raise_for_status()
                    if run >= 3:  # warm-up: first connection, caches
                        http.append(elapsed)
                    rows = response.content.count(b"<TR>") if b"<TR>" in response.content else -1
                translations[name] = subprocess.run(
                    [".venv/bin/tapserver", "adql", adql], capture_output=True, text=True, check=True,
                ).stdout.strip()
                results[name] = {"adql": adql, "http": _stats(http), "response_bytes": len(response.content),
                                 "rows_td": rows}
        reader = url.set(username="tapserver_reader").render_as_string(hide_password=False).replace("+psycopg", "")
        with psycopg.connect(reader) as conn:
            for name, sql in translations.items():
                inproc: list[float] = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    conn.execute(sql).fetchall()
                    inproc.append(time.perf_counter() - start)
                psql: list[float] = []
                for _ in range(args.runs):
                    start = time.perf_counter()
                    subprocess.run(["psql", reader, "-qAt", "-c", sql], capture_output=True, check=True)
                    psql.append(time.perf_counter() - start)
                results[name]["psycopg"] = _stats(inproc)
                results[name]["psql"] = _stats(psql)
    print("| query | tapserver HTTP median / p95 (ms) | psql median (ms) | psycopg in-process median (ms) |")
    print("|---|---|---|---|")
    for name, r in results.items():
        h, p, i = r["http"], r["psql"], r["psycopg"]
        print(f"| {name} | {h['median_ms']:.1f} / {h['p95_ms']:.1f} | {p['median_ms']:.1f} "
              f"| {i['median_ms']:.1f} |")
    figures = []
    for name, r in results.items():
        h, p, i = r["http"], r["psql"], r["psycopg"]
        label, target = LABELS.get(name, name), TARGETS_MS.get(name)
        figures += [
            Figure(f"{label}: HTTP median", h["median_ms"], "ms", "same SQL, `psql -c`, new connection each (median)",
                   p["median_ms"], None if target is None else f"< {target:g} ms", False,
                   None if target is None else h["median_ms"] < target),
            Figure(f"{label}: HTTP median", h["median_ms"], "ms", "same SQL, psycopg in-process (median)",
                   i["median_ms"], higher_is_better=False),
            Figure(f"{label}: HTTP p95", h["p95_ms"], "ms", "same SQL, psycopg in-process (p95)",
                   i["p95_ms"], higher_is_better=False),
        ]
    save("sync_latency", command_line("bench.sync_latency"), figures, {"rows": args.rows, "runs": args.runs, **results})


if __name__ == "__main__":
    main()
