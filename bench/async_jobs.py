"""Async TAP (UWS) throughput and latency: one small job end to end, and a burst of jobs submitted at once.

    .venv/bin/python -m bench.async_jobs [--single 50] [--burst 200] [--slots 2 4] [--clients 20]

A scratch database on the server of TAPSERVER_DATABASE_URL gets the synthetic ObsCore of the UWS tests
(2000 rows; the cone search returns 65 of them). `tapserver serve` (one uvicorn process, --slots job
slots inside it) runs on a free port; clients use keep-alive connections (httpx). Measured:

* single: POST /async with PHASE=RUN, GET the job with WAIT until it is final, GET results/result
  (the whole VOTable); submit-to-fetched latency, one job at a time, p50 and p95; next to the same query
  POSTed to /tap/sync on the same connection (the baseline: what the job machinery adds);
* burst: --burst jobs submitted at once from --clients threads, each then blocking with WAIT until
  its job is final; jobs/s completed (first submit to last completion) and submit-to-COMPLETED p50/p95.

Results go to bench/results/async_jobs.json. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from lxml import etree
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.report import Figure, command_line, save
from tapserver.config import load_settings
from tapserver.migrate import create_database_if_missing, upgrade
from tests.e2e.server import running_server
from tests.uws.synthetic import CONE, SEED_SQL

U = "{http://www.ivoa.net/xml/UWS/v1.0}"
FINAL = {"COMPLETED", "ERROR", "ABORTED"}
QUERY = ("SELECT obs_id, s_ra, s_dec, t_min, t_max FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
         f"CIRCLE('ICRS', {CONE[0]}, {CONE[1]}, {CONE[2]}))")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run_job(client: httpx.Client, base: str, fetch: bool) -> tuple[float, float, int]:
    """(submit-to-final s, submit-to-fetched s, result bytes) of one job."""
    start = time.perf_counter()
    r = client.post(f"{base}/tap/async", data={"LANG": "ADQL", "QUERY": QUERY, "PHASE": "RUN"})
    if r.status_code != 303:
        raise RuntimeError(f"submit failed: {r.status_code} {r.text[:300]}")
    job = r.headers["location"]
    while True:
        doc = etree.fromstring(client.get(job, params={"WAIT": "30"}).content)
        phase = doc.findtext(U + "phase")
        if phase in FINAL:
            break
    final = time.perf_counter() - start
    if phase != "COMPLETED":
        raise RuntimeError(f"job {job} ended {phase}: {doc.findtext(f'{U}errorSummary/{U}message')}")
    size = 0
    if fetch:
        size = len(client.get(f"{job}/results/result").content)
    return final, time.perf_counter() - start, size


def single(base: str, n: int) -> dict[str, float]:
    with httpx.Client(timeout=60) as client:
        run_job(client, base, True)  # warm-up: catalog, pools, translation cache
        samples = [run_job(client, base, True) for _ in range(n)]
        sync = []
        for _ in range(n):
            start = time.perf_counter()
            client.post(f"{base}/tap/sync", data={"LANG": "ADQL", "QUERY": QUERY}).raise_for_status()
            sync.append(time.perf_counter() - start)
    fetched = [s[1] for s in samples]
    return {"jobs": n, "p50_s": statistics.median(fetched), "p95_s": percentile(fetched, 95),
            "p50_final_s": statistics.median(s[0] for s in samples), "result_bytes": samples[-1][2],
            "sync_p50_s": statistics.median(sync), "sync_p95_s": percentile(sync, 95)}


def burst(base: str, n: int, clients: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def one(_: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=120)
        final, _fetched, _size = run_job(local.client, base, False)
        with lock:
            latencies.append(final)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(n)))
    wall = time.perf_counter() - start
    return {"jobs": n, "clients": clients, "wall_s": wall, "jobs_per_s": n / wall,
            "p50_s": statistics.median(latencies), "p95_s": percentile(latencies, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.async_jobs", description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=50, help="sequential single-job runs")
    parser.add_argument("--burst", type=int, default=200, help="jobs submitted at once")
    parser.add_argument("--clients", type=int, default=20, help="client threads submitting the burst")
    parser.add_argument("--slots", type=int, nargs="+", default=[2, 4], help="job slots of the server to try")
    args = parser.parse_args()

    server = os.environ.get("TAPSERVER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/tapserver")
    name = f"tapserver_bench_uws_{uuid.uuid4().hex[:8]}"
    url = load_settings(database_url=server).admin_url.set(database=name)
    raw = url.render_as_string(hide_password=False)
    runs: list[dict[str, Any]] = []
    report: dict[str, Any] = {"cpus": os.cpu_count(), "query": QUERY, "runs": runs}
    with tempfile.TemporaryDirectory(prefix="tapserver-bench-") as tmp:
        settings = load_settings(database_url=raw, data_dir=Path(tmp))
        create_database_if_missing(settings)
        try:
            upgrade(settings)
            engine = create_engine(settings.admin_url, poolclass=NullPool)
            with engine.begin() as conn:
                conn.execute(text(SEED_SQL))
                conn.execute(text("ANALYZE ivoa.obscore"))
            for slots in args.slots:
                env = {"TAPSERVER_WORKERS": str(slots), "TAPSERVER_DATA_DIR": tmp}
                with running_server(raw.replace("+psycopg", ""), extra_env=env) as base:
                    one = single(base, args.single)
                    many = burst(base, args.burst, args.clients)
                runs.append({"slots": slots, "single": one, "burst": many})
                print(f"slots={slots}: single job submit->fetched p50 {one['p50_s'] * 1000:.0f} ms, "
                      f"p95 {one['p95_s'] * 1000:.0f} ms ({one['result_bytes']} bytes); "
                      f"burst of {many['jobs']}: {many['jobs_per_s']:.1f} jobs/s, submit->COMPLETED "
                      f"p50 {many['p50_s']:.2f} s, p95 {many['p95_s']:.2f} s", flush=True)
                with engine.begin() as conn:
                    conn.execute(text("DELETE FROM uws.job"))
            engine.dispose()
        finally:
            admin = create_engine(url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    save("async_jobs", command_line("bench.async_jobs"), figures(runs), report)


def figures(runs: list[dict[str, Any]]) -> list[Figure]:
    """Per slot count: one job next to the same query in sync mode, and the burst."""
    out = []
    for run in runs:
        slots, one, many = run["slots"], run["single"], run["burst"]
        out += [
            Figure(f"one job, submit → result fetched, median ({slots:g} slots)", one["p50_s"] * 1000, "ms",
                   "same query, /tap/sync (median)", one["sync_p50_s"] * 1000, "< 200 ms", False,
                   one["p50_s"] < 0.2),
            Figure(f"one job, submit → result fetched, p95 ({slots:g} slots)", one["p95_s"] * 1000, "ms",
                   "same query, /tap/sync (p95)", one["sync_p95_s"] * 1000, higher_is_better=False),
            Figure(f"{many['jobs']:g} jobs at once from {many['clients']:g} clients ({slots:g} slots)",
                   many["jobs_per_s"], "jobs/s"),
            Figure(f"{many['jobs']:g} jobs at once: submit → COMPLETED, median ({slots:g} slots)", many["p50_s"], "s",
                   higher_is_better=False),
            Figure(f"{many['jobs']:g} jobs at once: submit → COMPLETED, p95 ({slots:g} slots)", many["p95_s"], "s",
                   higher_is_better=False),
        ]
    return out


if __name__ == "__main__":
    main()
