"""Sync output over HTTP: a real `tapserver serve` streaming a large result, rows/s and the server's peak RSS.

    .venv/bin/python -m bench.sync_http [--rows 1000000] [--formats votable votable/td csv parquet]

A migrated benchmark database gets ``--rows`` synthetic ObsCore rows; each format is fetched once over
HTTP by curl (streamed, discarded) from a freshly started server, whose peak RSS (VmHWM) is read from /proc
after the transfer. Baseline in the same run: ``psql -c "COPY (translated SQL) TO STDOUT"``.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from typing import Any

import psycopg

from bench.procfs import status_mb
from bench.report import Figure, command_line, save
from bench.sync_latency import FILL
from bench.sync_output import LABELS
from tapserver.config import load_settings
from tapserver.migrate import upgrade
from tests.dbutil import throwaway_database
from tests.e2e.server import server_process

COLUMNS = ("dataproduct_type, calib_level, obs_collection, obs_id, obs_publisher_did, access_format, "
           "access_estsize, target_name, s_ra, s_dec, s_fov, s_region, t_min, t_max, t_exptime, em_min, em_max, "
           "facility_name, instrument_name")
ADQL = f"SELECT {COLUMNS} FROM ivoa.obscore"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", nargs="*", default=["votable", "votable/td", "csv", "parquet"])
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    with throwaway_database("tapserver_bench_http") as url:
        raw = url.render_as_string(hide_password=False).replace("+psycopg", "")
        upgrade(load_settings(database_url=raw))
        with psycopg.connect(raw, autocommit=True) as conn:
            conn.execute(FILL, {"rows": args.rows})
            conn.execute("VACUUM ANALYZE ivoa.obscore")
        sql = subprocess.run([".venv/bin/tapserver", "adql", ADQL], capture_output=True, text=True,
                             check=True).stdout.strip()
        start = time.perf_counter()
        subprocess.run(["psql", raw, "-X", "-q", "-o", "/dev/null", "-c", f"COPY ({sql}) TO STDOUT"], check=True)
        results.append({"what": "psql COPY text", "seconds": time.perf_counter() - start, "bytes": None,
                        "server_peak_rss_mb": None})
        env = {"TAPSERVER_DEFAULT_MAXREC": str(args.rows), "TAPSERVER_HARD_MAXREC": str(args.rows),
               "TAPSERVER_SYNC_TIMEOUT": "600", "TAPSERVER_WORKERS": "0"}
        for fmt in args.formats:
            with server_process(raw, extra_env=env) as (base, process):
                # curl as the client: a Python client (httpx) cannot read 350 MB as fast as the server sends.
                start = time.perf_counter()
                out = subprocess.run(
                    ["curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}", "--data-urlencode",
                     f"QUERY={ADQL}", "-d", "LANG=ADQL", "--data-urlencode", f"RESPONSEFORMAT={fmt}",
                     f"{base}/tap/sync"], capture_output=True, text=True, check=True)
                elapsed = time.perf_counter() - start
                size = int(out.stdout)
                peak = status_mb(process.pid, "VmHWM")
                if peak is None:
                    raise RuntimeError(f"no VmHWM for the server process {process.pid}")
                results.append({"what": f"HTTP {fmt}", "format": fmt, "seconds": elapsed, "bytes": size,
                                "server_peak_rss_mb": peak})
    copy_rate = args.rows / results[0]["seconds"]
    print("| what | rows/s | x COPY | MB | server peak RSS (MB) |\n|---|---|---|---|---|")
    for r in results:
        rate = args.rows / r["seconds"]
        mb = f"{r['bytes'] / 1e6:.0f}" if r["bytes"] else "-"
        rss = f"{r['server_peak_rss_mb']:.0f}" if r["server_peak_rss_mb"] else "-"
        print(f"| {r['what']} | {rate:,.0f} | {rate / copy_rate:.2f} | {mb} | {rss} |")
    copy = f"psql COPY text ({args.rows:,} rows)"
    figures = [Figure(f"HTTP {LABELS.get(r['format'], r['format'])}, curl, fresh server", args.rows / r["seconds"],
                      "rows/s", copy, copy_rate) for r in results[1:]]
    if len(results) > 1:
        fattest = max(results[1:], key=lambda r: r["server_peak_rss_mb"])
        figures.append(Figure(f"server peak RSS, largest of the formats ({LABELS.get(fattest['format'], '?')})",
                              fattest["server_peak_rss_mb"], "MB", target="< 300 MB", higher_is_better=False,
                              met=fattest["server_peak_rss_mb"] < 300))
    save("sync_http", command_line("bench.sync_http"), figures, {"rows": args.rows, "results": results})

if __name__ == "__main__":
    main()
