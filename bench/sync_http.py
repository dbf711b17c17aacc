"""Sync output over HTTP on real-shaped rows: a real `tapserver serve` streaming a large result; rows/s, first
byte and the server's peak RSS per format, next to psql COPY of the same query in the same run.

    .venv/bin/python -m bench.sync_http [--rows 1000000] [--formats votable votable/td votable/b csv parquet]

The rows (bench/realrows.py): the FACT demo files are ingested with `tapserver ingest` into a throwaway migrated
database, then their ObsCore rows are replicated with INSERT ... SELECT ... generate_series (own ids, positions,
times) up to ``--rows``. The query selects every column the ingester fills (36 of them; no NULL text). Each format
is fetched once over HTTP by curl (streamed, discarded) from a freshly started server, whose peak RSS (VmHWM)
is read from /proc after the transfer; curl reports the time to the first byte. Baseline in the same run:
``psql -c "COPY (translated SQL) TO STDOUT"``. The machine's load average is recorded with the figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

from bench.procfs import status_mb
from bench.realrows import real_obscore
from bench.report import Figure, command_line, save
from bench.sync_output import LABELS
from tapserver.config import load_settings
from tapserver.migrate import upgrade
from tests.dbutil import throwaway_database
from tests.e2e.server import server_process

#: Targets: rows/s as a fraction of psql COPY, first byte, server peak RSS.
TARGETS = {"votable": 0.5, "votable/b": 0.5, "votable/td": 0.4}
FIRST_BYTE_S = 0.2
PEAK_RSS_MB = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", nargs="*", default=["votable", "votable/td", "votable/b", "csv", "parquet"])
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with throwaway_database("tapserver_bench_http") as url:
        raw = url.render_as_string(hide_password=False).replace("+psycopg", "")
        upgrade(load_settings(database_url=raw))
        columns = real_obscore(raw, args.rows)
        adql = f"SELECT {', '.join(columns)} FROM ivoa.obscore"
        sql = subprocess.run([sys.executable, "-m", "tapserver.cli", "adql", adql], capture_output=True,
                             text=True, check=True).stdout.strip()
        start = time.perf_counter()
        subprocess.run(["psql", raw, "-X", "-q", "-o", "/dev/null", "-c", f"COPY ({sql}) TO STDOUT"], check=True)
        results.append({"what": "psql COPY text", "seconds": time.perf_counter() - start, "bytes": None,
                        "first_byte_s": None, "server_peak_rss_mb": None})
        env = {"TAPSERVER_DEFAULT_MAXREC": str(args.rows), "TAPSERVER_HARD_MAXREC": str(args.rows),
               "TAPSERVER_SYNC_TIMEOUT": "600", "TAPSERVER_WORKERS": "0"}
        for fmt in args.formats:
            with server_process(raw, extra_env=env) as (base, process):
                # the landing page first: it waits for the server's warm-up (archive statistics, the coverage
                # MOC of every footprint), which would otherwise run during the measurement; then one small
                # query, so that the first byte measures the stream and not a cold start (pool, lazy imports)
                subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "--max-time", "600", f"{base}/"],
                               check=True)
                subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "--data-urlencode", f"QUERY={adql}",
                                "-d", "LANG=ADQL", "-d", "MAXREC=10", "--data-urlencode", f"RESPONSEFORMAT={fmt}",
                                f"{base}/tap/sync"], check=True)
                # curl as the client: a Python client (httpx) cannot read 1 GB as fast as the server sends.
                out = subprocess.run(
                    ["curl", "-sS", "--fail", "-o", "/dev/null", "-w",
                     "%{size_download} %{time_starttransfer} %{time_total}", "--data-urlencode",
                     f"QUERY={adql}", "-d", "LANG=ADQL", "--data-urlencode", f"RESPONSEFORMAT={fmt}",
                     f"{base}/tap/sync"], capture_output=True, text=True, check=True)
                size, first, total = out.stdout.split()
                peak = status_mb(process.pid, "VmHWM")
                if peak is None:
                    raise RuntimeError(f"no VmHWM for the server process {process.pid}")
                results.append({"what": f"HTTP {fmt}", "format": fmt, "seconds": float(total), "bytes": int(size),
                                "first_byte_s": float(first), "server_peak_rss_mb": peak})
    load_after = os.getloadavg()
    load = {"before": load_before, "after": load_after, "cpus": os.cpu_count()}
    copy_rate = args.rows / results[0]["seconds"]
    print(f"{args.rows:,} rows x {len(columns)} columns; load average before {load_before[0]:.1f}, "
          f"after {load_after[0]:.1f} ({os.cpu_count()} CPUs)")
    print("| what | rows/s | x COPY | first byte (s) | MB | server peak RSS (MB) |\n|---|---|---|---|---|---|")
    for r in results:
        rate = args.rows / r["seconds"]
        mb = f"{r['bytes'] / 1e6:.0f}" if r["bytes"] else "-"
        rss = f"{r['server_peak_rss_mb']:.0f}" if r["server_peak_rss_mb"] else "-"
        first = f"{r['first_byte_s']:.3f}" if r["first_byte_s"] is not None else "-"
        print(f"| {r['what']} | {rate:,.0f} | {rate / copy_rate:.2f} | {first} | {mb} | {rss} |")
    copy = f"psql COPY text ({args.rows:,} real-shaped rows)"
    figures = []
    for r in results[1:]:
        fmt = r["format"]
        rate = args.rows / r["seconds"]
        target = TARGETS.get(fmt)
        figures.append(Figure(f"HTTP {LABELS.get(fmt, fmt)}, curl, fresh server", rate, "rows/s", copy, copy_rate,
                              **({"target": f"≥ {target} × COPY", "met": rate >= target * copy_rate}
                                 if target else {})))
    for r in results[1:]:
        figures.append(Figure(f"first byte, {LABELS.get(r['format'], r['format'])}", r["first_byte_s"], "s",
                              target=f"< {FIRST_BYTE_S} s", higher_is_better=False,
                              met=r["first_byte_s"] < FIRST_BYTE_S))
    if len(results) > 1:
        fattest = max(results[1:], key=lambda r: r["server_peak_rss_mb"])
        figures.append(Figure(f"server peak RSS, largest of the formats ({LABELS.get(fattest['format'], '?')})",
                              fattest["server_peak_rss_mb"], "MB", target=f"< {PEAK_RSS_MB} MB",
                              higher_is_better=False, met=fattest["server_peak_rss_mb"] < PEAK_RSS_MB))
    save("sync_http", command_line("bench.sync_http"), figures,
         {"rows": args.rows, "columns": columns, "load_average": load, "results": results})


if __name__ == "__main__":
    main()
