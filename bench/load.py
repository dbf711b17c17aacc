"""Load test: many concurrent clients mixing TAP, VOSI, DataLink and UWS against a real server.

    .venv/bin/python -m bench.load                 # saturating: 50 clients, no think time, 5 s + 60 s
    .venv/bin/python -m bench.load --think 2       # interactive users: mean 2 s between a client's requests
    .venv/bin/python -m bench.load --replica       # single node, then the replica topology, in one run

    options: --rows 1000000 --clients 50 --duration 60 --warmup 5 --max-requests 200000 --think 0
             --processes 1 --server-workers 2 --job-slots 1 --mix cone=50,tap_schema=15,tables=5,...
             --keep-database NAME (build once, rerun quickly) --url http://127.0.0.1:PORT [--server-pid PID]

Set-up (skipped with ``--url``, which must be a loopback URL of a server that already has such data): a
throwaway database on the server of TAPSERVER_DATABASE_URL is migrated and filled with ``--rows`` synthetic
ObsCore rows uniform over the sky (``bench.sync_latency.FILL``); the FACT demo files are ingested with the
ingest CLI, and ``--datalink-datasets`` of the synthetic datasets get DataLink products (the event list and
an IRF HDU, pointing at a demo file), so that ``/datalink/links`` has something to resolve; VACUUM ANALYZE.
Then ``tapserver serve --workers 2`` starts on a free loopback port with its embedded async job slots
(TAPSERVER_WORKERS=1 per HTTP worker here), so async jobs really run. The load starts once the server has
settled: every HTTP worker warms up the landing page in the background at start-up (archive statistics, and
the coverage MOC of all footprints, built in a child process: about 10 s at this size), and that is start-up
work, not load.

Driver: ``--processes`` driver processes (multiprocessing; one is enough here, its CPU is printed) share
``--clients`` clients, each an asyncio task with its own keep-alive connection (httpx.AsyncClient, built
before the clock starts). A client picks a request kind by weight, sends it, checks the answer, records
the latency and starts again at once (``--think 0``: closed loop, the saturating worst case, where by
Little's law latency = clients / throughput) or after an exponentially distributed think time of mean
``--think`` seconds (interactive users, as behind TOPCAT or Aladin). Requests of the first ``--warmup``
seconds (connections, caches) are not measured; the measured window lasts ``--duration`` seconds or until
``--max-requests``; only loopback URLs are accepted. Request kinds:

* ``cone``: sync ADQL cone search on ``ivoa.obscore`` (12 columns with access_url, random centre, radius
  0.5-3 deg, MAXREC 1000; 20-700 rows);
* ``tap_schema``: sync ADQL on TAP_SCHEMA (the columns of one table, or the list of tables);
* ``tables``: GET /tap/tables (the VOSI tableset);
* ``datalink``: GET /datalink/links?ID=... of a dataset that has products;
* ``async``: a whole UWS job (POST /tap/async PHASE=RUN with a cone search, poll with WAIT=10 until a
  final phase, GET the result, DELETE the job); its latency is the whole lifetime.

An answer is an error unless it has the expected status and, for VOTables, ``QUERY_STATUS`` OK (no
trailing ERROR, no DataLink fault, a complete document); errors of the warm-up count too, and the first
error bodies are printed.

``--replica`` (results bench/results/load_replica.json): the same data, clients, mix and window, twice in
one run on one primary and its streaming hot standby of their own (``pg_basebackup -R``,
tests/replica/cluster.py): first one ``tapserver serve --workers N`` (``--server-workers``) with its
embedded job slots on the primary, queries on the primary; then N ``tapserver serve`` processes without
job slots and N ``tapserver worker`` processes, jobs on the primary and user queries on the standby, each
client addressing the servers in turn request after request (the steps of one async job go to different
servers). Both have N HTTP processes and N x ``--job-slots`` job slots. Figures: the replica's throughput
next to the single node's (the ratio), p50 and p99 of all requests, of the cone search and of the async
job, and the CPU of the servers and of PostgreSQL per request.

Measured: per kind the count, throughput (completions in the window) and p50/p95/p99/max latency (every
request started in the window); HTTP requests/s; completions per second (stalls show as gaps) and the
slowest requests; the error count (target 0); the summed RSS (VmRSS) of the server's process tree
(master, uvicorn workers, job slots, any child) sampled every second, before the load, first 10 s against
last 10 s and max/min of the window (target: flat within 20 %); the PostgreSQL backends on the database
(count, and their CPU time); the CPU time of the server tree, of the driver (a driver near 100 % of a core
would be the bottleneck) and how busy the machine's CPUs were (other work on the machine included).
Baseline in the same run: the same cone SQL as translated by tapserver, run by psycopg directly (one
client, no HTTP, rows fetched), p50. Results: bench/results/load.json (load_think<T>.json with --think T) via
bench.report.save, the RSS/backends time series and the completions per second in the details.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import re
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.procfs import cpu_seconds, process_tree, rss_mb
from bench.report import Figure, save

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
CONE_COLUMNS = ("obs_id, obs_publisher_did, target_name, s_ra, s_dec, t_min, t_max, em_min, em_max, "
                "access_url, access_format, access_estsize")
DEFAULT_MIX = {"cone": 50, "tap_schema": 15, "tables": 5, "datalink": 25, "async": 5}
MAXREC = 1000
FINAL_PHASES = {"COMPLETED", "ERROR", "ABORTED"}
PHASE_RE = re.compile(rb"<uws:phase>(\w+)</uws:phase>")


# ----------------------------------------------------------------------------------------------- requests

def cone_adql(rng: random.Random) -> str:
    ra = rng.uniform(0, 360)
    dec = math.degrees(math.asin(rng.uniform(-1, 1)))
    radius = rng.uniform(0.5, 3.0)
    return (f"SELECT {CONE_COLUMNS} FROM ivoa.obscore "
            f"WHERE 1=CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra:.4f}, {dec:.4f}, {radius:.3f}))")


def tap_schema_adql(rng: random.Random, tables: list[str]) -> str:
    if rng.random() < 0.2:
        return "SELECT schema_name, table_name, table_type, description FROM TAP_SCHEMA.tables"
    return ("SELECT column_name, datatype, arraysize, xtype, unit, ucd, utype, description, principal, indexed "
            f"FROM TAP_SCHEMA.columns WHERE table_name = '{rng.choice(tables)}' ORDER BY column_index")


class CheckError(Exception):
    """An answer that is not what a client expects (status, document or QUERY_STATUS)."""

    def __init__(self, message: str, body: bytes = b"") -> None:
        super().__init__(message)
        self.body = body


def check_votable(response: httpx.Response, what: str) -> None:
    body = response.content
    if response.status_code != 200:
        raise CheckError(f"{what}: HTTP {response.status_code}", body)
    if b'name="QUERY_STATUS" value="OK"' not in body:
        raise CheckError(f"{what}: no QUERY_STATUS OK", body)
    if b'name="QUERY_STATUS" value="ERROR"' in body or not body.rstrip().endswith(b"</VOTABLE>"):
        raise CheckError(f"{what}: error or truncated document", body)


@dataclass
class Plan:
    """What every client needs to build its requests (picklable, sent to the driver processes)."""

    bases: tuple[str, ...]
    mix: dict[str, int]
    tables: list[str]
    dids: list[str]
    think: float
    timeout: float = 120.0


@dataclass
class Samples:
    """One driver process's results: per kind (start offset, latency) pairs, errors and its CPU time."""

    latencies: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)
    http_requests: int = 0
    warmup_requests: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    unfinished: int = 0


class Client:
    """One simulated user: a keep-alive connection per server and a random stream of requests.

    With several servers (``Plan.bases``) the client addresses them in turn, request after request (a
    client-side round robin): the steps of one async job (create, poll, fetch, delete) go to different
    servers, which share the job store and the results directory.
    """

    def __init__(self, plan: Plan, clients: dict[str, httpx.AsyncClient], rng: random.Random, samples: Samples,
                 turn: int = 0) -> None:
        self.plan, self.https, self.rng, self.samples = plan, clients, rng, samples
        self.turn = turn

    calls = 0

    def next_base(self) -> str:
        """The server of the next request (the only one when there is one)."""
        self.turn += 1
        return self.plan.bases[self.turn % len(self.plan.bases)]

    def on_next(self, url: str) -> str:
        """``url`` (of any of the servers) on the server of the next request."""
        for base in self.plan.bases:
            if url.startswith(base + "/"):
                return self.next_base() + url[len(base):]
        raise CheckError(f"{url} is on none of the servers {self.plan.bases}")

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.calls += 1
        base = next(b for b in self.plan.bases if url.startswith(b + "/"))
        return await self.https[base].request(method, url, **kwargs)

    async def cone(self) -> None:
        response = await self.request("POST", f"{self.next_base()}/tap/sync", data={
            "REQUEST": "doQuery", "LANG": "ADQL", "MAXREC": str(MAXREC), "QUERY": cone_adql(self.rng)})
        check_votable(response, "cone")

    async def tap_schema(self) -> None:
        response = await self.request("POST", f"{self.next_base()}/tap/sync", data={
            "REQUEST": "doQuery", "LANG": "ADQL", "QUERY": tap_schema_adql(self.rng, self.plan.tables)})
        check_votable(response, "tap_schema")

    async def tables(self) -> None:
        response = await self.request("GET", f"{self.next_base()}/tap/tables")
        if response.status_code != 200 or not response.content.rstrip().endswith(b"tableset>"):
            raise CheckError(f"tables: HTTP {response.status_code}", response.content)

    async def datalink(self) -> None:
        did = self.rng.choice(self.plan.dids)
        response = await self.request("GET", f"{self.next_base()}/datalink/links", params={"ID": did})
        check_votable(response, "datalink")
        if b"<TR>" not in response.content or b"Fault:" in response.content:
            raise CheckError("datalink: no links or a fault", response.content)

    async def async_job(self) -> None:
        response = await self.request("POST", f"{self.next_base()}/tap/async", data={
            "REQUEST": "doQuery", "LANG": "ADQL", "MAXREC": str(MAXREC), "QUERY": cone_adql(self.rng),
            "PHASE": "RUN"})
        if response.status_code != 303 or "location" not in response.headers:
            raise CheckError(f"async create: HTTP {response.status_code}", response.content)
        job = response.headers["location"]
        response = await self.request("GET", f"{self.on_next(job)}/phase")
        if response.status_code != 200:
            raise CheckError(f"async phase: HTTP {response.status_code}", response.content)
        phase = response.text.strip()
        deadline = time.monotonic() + self.plan.timeout
        while phase not in FINAL_PHASES:
            if time.monotonic() > deadline:
                raise CheckError(f"async: still {phase} after {self.plan.timeout} s")
            response = await self.request("GET", self.on_next(job), params={"WAIT": "10", "PHASE": phase})
            found = PHASE_RE.search(response.content)
            if response.status_code != 200 or found is None:
                raise CheckError(f"async poll: HTTP {response.status_code}", response.content)
            phase = found.group(1).decode()
        if phase != "COMPLETED":
            raise CheckError(f"async: job ended {phase}", response.content)
        check_votable(await self.request("GET", f"{self.on_next(job)}/results/result"), "async result")
        response = await self.request("DELETE", self.on_next(job))
        if response.status_code not in (200, 303):
            raise CheckError(f"async delete: HTTP {response.status_code}", response.content)

    def call(self, kind: str) -> Any:
        return {"cone": self.cone, "tap_schema": self.tap_schema, "tables": self.tables,
                "datalink": self.datalink, "async": self.async_job}[kind]()


async def _client_loop(plan: Plan, http: dict[str, httpx.AsyncClient], seed: int, measure_from: float, end: float,
                       budget: list[int], samples: Samples) -> None:
    """One closed-loop client until ``end`` (wall clock); requests started before ``measure_from`` are the
    warm-up: their latencies are not kept (their errors are)."""
    rng = random.Random(seed)
    kinds = list(plan.mix)
    weights = [plan.mix[k] for k in kinds]
    client = Client(plan, http, rng, samples, turn=seed)
    if plan.think > 0:  # users do not all arrive at the same instant
        await asyncio.sleep(rng.uniform(0, plan.think))
    while time.time() < end and budget[0] > 0:
        kind = rng.choices(kinds, weights)[0]
        t0 = time.time()
        measured = t0 >= measure_from
        if measured:
            budget[0] -= 1
        began, calls = time.perf_counter(), client.calls
        try:
            await client.call(kind)
        except Exception as exc:
            samples.errors[kind] = samples.errors.get(kind, 0) + 1
            if len(samples.error_examples) < 5:
                body = exc.body[:600].decode(errors="replace") if isinstance(exc, CheckError) else ""
                samples.error_examples.append(f"{kind} at {t0 - measure_from:.1f} s: {type(exc).__name__}: "
                                              f"{exc}\n{body}")
        else:
            if measured:
                samples.http_requests += client.calls - calls
                samples.latencies.setdefault(kind, []).append((t0 - measure_from, time.perf_counter() - began))
            else:
                samples.warmup_requests += 1
        if plan.think > 0:
            await asyncio.sleep(min(rng.expovariate(1 / plan.think), max(0.0, end - time.time())))


def _driver_process(plan: Plan, clients: int, seed: int, warmup: float, duration: float, max_requests: int,
                    ready: Any, go: Any, start_at: Any, out: Any) -> None:
    """One driver process: builds its ``clients`` connections, says it is ready, waits for the common start,
    then runs them for ``warmup`` + ``duration`` seconds."""

    async def run() -> Samples:
        samples = Samples()
        budget = [max_requests]
        # One TLS context for all (the URLs are plain http): httpx would otherwise load the CA bundle per
        # client, tens of ms each, which blocked this event loop while the first requests were in flight.
        tls = ssl.create_default_context()
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        https = [{base: httpx.AsyncClient(timeout=plan.timeout, limits=limits, follow_redirects=False, verify=tls)
                  for base in plan.bases} for _ in range(clients)]
        ready.put(os.getpid())
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        measure_from = start_at.value + warmup
        end = measure_from + duration
        await asyncio.sleep(max(0.0, start_at.value - time.time()))
        cpu0 = time.process_time()
        await asyncio.gather(*(_client_loop(plan, http, seed * 1000 + i, measure_from, end, budget, samples)
                               for i, http in enumerate(https)))
        samples.cpu_seconds = time.process_time() - cpu0
        # the window: until the end, or until the request budget ran out (requests still running at the
        # end are waited for and kept in the latencies, but only completions in the window count as
        # throughput: see kind_stats)
        samples.wall_seconds = min(time.time(), end) - measure_from
        for per_server in https:
            for http in per_server.values():
                await http.aclose()
        return samples

    try:
        import uvloop
        result = uvloop.run(run())
    except ImportError:
        result = asyncio.run(run())
    out.put(result)


def drive(plan: Plan, clients: int, processes: int, warmup: float, duration: float,
          max_requests: int) -> tuple[Samples, list[Samples], float]:
    """Run the clients over ``processes`` processes; merged samples, per-process samples and the time (wall
    clock) the measured window began."""
    ctx = multiprocessing.get_context("spawn")
    out, ready, go, start_at = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0)
    processes = max(1, min(processes, clients))
    workers = []
    for p in range(processes):
        share = clients // processes + (1 if p < clients % processes else 0)
        budget = max_requests // processes + (1 if p < max_requests % processes else 0)
        proc = ctx.Process(target=_driver_process,
                           args=(plan, share, p + 1, warmup, duration, budget, ready, go, start_at, out))
        proc.start()
        workers.append(proc)
    for _ in workers:
        ready.get(timeout=120)
    start_at.value = time.time() + 0.2
    go.set()
    parts = [out.get(timeout=warmup + duration + plan.timeout + 60) for _ in workers]
    for proc in workers:
        proc.join()
    merged = Samples()
    for part in parts:
        for kind, values in part.latencies.items():
            merged.latencies.setdefault(kind, []).extend(values)
        for kind, count in part.errors.items():
            merged.errors[kind] = merged.errors.get(kind, 0) + count
        merged.error_examples.extend(part.error_examples)
        merged.http_requests += part.http_requests
        merged.warmup_requests += part.warmup_requests
        merged.cpu_seconds += part.cpu_seconds
        merged.wall_seconds = max(merged.wall_seconds, part.wall_seconds)
    return merged, parts, start_at.value + warmup


# ------------------------------------------------------------------------------------------- monitoring

def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


class Monitor(threading.Thread):
    """Every second: the summed RSS and process count of the server trees (servers and job workers), the
    databases' backends (and their CPU time) and how busy the machine's CPUs are."""

    def __init__(self, server_pids: list[int], database_urls: list[str]) -> None:
        super().__init__(daemon=True)
        self.server_pids, self.database_urls = server_pids, database_urls
        self.series: list[dict[str, float]] = []
        self.pg_cpu_first: dict[int, float] = {}
        self.pg_cpu_last: dict[int, float] = {}
        self.stopping = threading.Event()
        self.t0 = time.time()

    def run(self) -> None:
        import psycopg

        conns = [psycopg.connect(url, autocommit=True) for url in self.database_urls]
        last_machine = machine_cpu()
        try:
            while not self.stopping.is_set():
                point: dict[str, float] = {"t": round(time.time() - self.t0, 2)}
                if self.server_pids:
                    pids = [pid for root in self.server_pids for pid in process_tree(root)]
                    point["rss_mb"] = round(rss_mb(pids), 1)
                    point["processes"] = len(pids)
                if conns:
                    backends = [r[0] for conn in conns for r in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()")]
                    point["pg_backends"] = len(backends)
                    for pid in backends:
                        used = cpu_seconds([pid])
                        first = self.pg_cpu_first.setdefault(pid, used)
                        self.pg_cpu_last[pid] = max(used, first)
                machine = machine_cpu()
                busy, total = machine[0] - last_machine[0], machine[1] - last_machine[1]
                last_machine = machine
                point["machine_busy_pct"] = round(100 * busy / total, 1) if total else 0.0
                self.series.append(point)
                self.stopping.wait(1.0)
        finally:
            for conn in conns:
                conn.close()

    def pg_cpu(self) -> float:
        """CPU seconds the database's backends used while watched (backends seen at least once)."""
        return sum(self.pg_cpu_last[pid] - self.pg_cpu_first[pid] for pid in self.pg_cpu_last)

    def stop(self) -> None:
        self.stopping.set()
        self.join()


# ------------------------------------------------------------------------------------------------ set-up

def loopback(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"bench.load only loads loopback servers (http://127.0.0.1:PORT), not {url!r}")
    return url.rstrip("/")


def build_database(raw: str, rows: int, datalink_datasets: int) -> None:
    """Migrate, fill ``rows`` synthetic datasets, ingest the FACT demo, add DataLink products, analyse."""
    import psycopg

    from bench.sync_latency import FILL
    from ingest.cli import run as ingest_run
    from tapserver.cli import build_parser
    from tapserver.config import load_settings
    from tapserver.migrate import upgrade

    settings = load_settings(database_url=raw)
    upgrade(settings)
    t0 = time.perf_counter()
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(FILL, {"rows": rows})
    print(f"filled {rows:,} rows in {time.perf_counter() - t0:.0f} s", flush=True)
    data = DEMO / "data" / "fact"
    code = ingest_run(build_parser().parse_args(
        ["ingest", str(data), "--config", str(DEMO / "fact.toml"), "--quiet"]), settings)
    if code != 0:
        raise SystemExit(f"ingesting {data} failed ({code})")
    demo_file = str(sorted(data.glob("*_dl3.fits"))[0])
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO datalink.product (product_id, obs_publisher_did, semantics, description, content_type, "
            "content_length, file_path, hdu_name, hdu_index, sort_order) "
            "SELECT 'ivo://bench/obs?' || i || '#' || k, 'ivo://bench/obs?' || i, "
            "CASE k WHEN 'events' THEN '#this' ELSE '#calibration' END, "
            "CASE k WHEN 'events' THEN 'event list' ELSE 'effective area' END, 'application/fits', "
            "CASE k WHEN 'events' THEN 100000 ELSE NULL END, %(file)s, "
            "CASE k WHEN 'events' THEN NULL ELSE 'EFFECTIVE AREA' END, CASE k WHEN 'events' THEN NULL ELSE 2 END, "
            "CASE k WHEN 'events' THEN 0 ELSE 1 END "
            "FROM generate_series(1, %(n)s) AS i, unnest(ARRAY['events', 'aeff']) AS k",
            {"file": demo_file, "n": datalink_datasets})
        t0 = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE in {time.perf_counter() - t0:.0f} s", flush=True)


@contextmanager
def database(keep: str | None) -> Iterator[str]:
    """A throwaway database, or the kept database ``keep`` (created if missing), as a libpq URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from tests.dbutil import server_url, throwaway_database

    if keep is None:
        with throwaway_database("tapserver_bench_load") as url:
            yield url.render_as_string(hide_password=False).replace("+psycopg", "")
        return
    engine = create_engine(server_url().set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": keep}).first():
            conn.execute(text(f'CREATE DATABASE "{keep}"'))
    engine.dispose()
    yield server_url().set(database=keep).render_as_string(hide_password=False).replace("+psycopg", "")


def has_rows(raw: str) -> bool:
    import psycopg
    with psycopg.connect(raw) as conn:
        try:
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM ivoa.obscore)").fetchone()
            return bool(row and row[0])
        except psycopg.Error:
            return False


def catalog_facts(raw: str, datalink_datasets: int) -> tuple[list[str], list[str]]:
    """Table names of TAP_SCHEMA and the DIDs that have DataLink products."""
    import psycopg
    with psycopg.connect(raw) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM tap_schema.tables ORDER BY 1")]
        dids = [r[0] for r in conn.execute(
            "SELECT DISTINCT obs_publisher_did FROM datalink.product ORDER BY 1 LIMIT %(n)s",
            {"n": datalink_datasets + 100})]
    return tables, dids


def raw_cone_baseline(raw: str, runs: int, seed: int = 7) -> list[float]:
    """Latencies of the cone search's translated SQL run by psycopg directly (one client, rows fetched)."""
    import psycopg

    from tapserver.adql import translate
    from tapserver.catalog import declared_catalog

    catalog = declared_catalog()
    rng = random.Random(seed)
    latencies = []
    with psycopg.connect(raw) as conn:
        conn.read_only = True
        for i in range(runs + 5):
            sql = translate(cone_adql(rng), catalog, maxrec=MAXREC).sql
            start = time.perf_counter()
            conn.execute(f"SELECT * FROM ({sql}) AS q LIMIT {MAXREC + 1}").fetchall()
            if i >= 5:
                latencies.append(time.perf_counter() - start)
            conn.rollback()
    return latencies


@contextmanager
def served(raw: str, server_workers: int, job_slots: int, data_dir: Path) -> Iterator[tuple[str, int]]:
    """A `tapserver serve --workers N` on the database, started and settled (see :func:`settle`)."""
    from tests.e2e.server import server_process

    env = {"TAPSERVER_WORKERS": str(job_slots), "TAPSERVER_DATA_DIR": str(data_dir),
           "TAPSERVER_DATA_ROOTS": json.dumps([str(DEMO / "data")])}
    log = data_dir / "server.log"
    with server_process(raw, extra_env=env, workers=server_workers, log=log) as (base, process):
        settle(base, process.pid)
        yield base, process.pid


def settle(base: str, pid: int, quiet_share: float = 0.15, limit_s: float = 600.0) -> float:
    """Wait until the server has done its start-up work (each HTTP worker warms up the landing page in the
    background: archive statistics and the coverage MOC, built in a child process), i.e. until its process
    tree uses less than ``quiet_share`` of a core for two seconds in a row. Returns the seconds waited."""
    started = time.monotonic()
    httpx.get(f"{base}/api/stats", timeout=limit_s)  # the warm-up of the worker that answers, at least
    quiet = 0
    while quiet < 2 and time.monotonic() - started < limit_s:
        pids = process_tree(pid)
        before = cpu_seconds(pids)
        time.sleep(1.0)
        quiet = quiet + 1 if cpu_seconds(pids) - before < quiet_share else 0
    waited = time.monotonic() - started
    print(f"server settled after {waited:.0f} s of start-up work (landing-page warm-up)")
    return waited


# ------------------------------------------------------------------------------------------------ report

def quantile(ordered: list[float], q: float) -> float:
    """Nearest-rank quantile of sorted values."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def kind_stats(values: list[tuple[float, float]], seconds: float) -> dict[str, float]:
    """Latency quantiles of every request started in the window; throughput of those completed in it."""
    ordered = sorted(latency for _, latency in values)
    done = sum(1 for began, latency in values if began + latency <= seconds)
    return {"count": len(ordered), "per_s": done / seconds,
            "p50_ms": quantile(ordered, 0.50) * 1000, "p95_ms": quantile(ordered, 0.95) * 1000,
            "p99_ms": quantile(ordered, 0.99) * 1000, "max_ms": ordered[-1] * 1000}


def rss_summary(series: list[dict[str, float]], start_offset: float, end_offset: float) -> dict[str, Any]:
    """RSS in the measured window: first 10 s against last 10 s, min and max; and before any load."""
    during = [p for p in series if "rss_mb" in p and start_offset <= p["t"] <= end_offset]
    if not during:
        return {}
    first = [p["rss_mb"] for p in during if p["t"] < start_offset + 10] or [during[0]["rss_mb"]]
    last = [p["rss_mb"] for p in during if p["t"] > end_offset - 10] or [during[-1]["rss_mb"]]
    first_mb, last_mb = statistics.mean(first), statistics.mean(last)
    low, high = min(p["rss_mb"] for p in during), max(p["rss_mb"] for p in during)
    before = next((p["rss_mb"] for p in series if "rss_mb" in p), None)
    return {"before_load_mb": before, "first_10s_mb": first_mb, "last_10s_mb": last_mb, "min_mb": low,
            "max_mb": high, "last_over_first": last_mb / first_mb, "max_over_min": high / low,
            "flat_within_20pct": high / low <= 1.2}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="synthetic obscore rows")
    parser.add_argument("--datalink-datasets", type=int, default=20_000,
                        help="synthetic datasets given DataLink products")
    parser.add_argument("--clients", type=int, default=50, help="concurrent closed-loop clients")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean think time (s, exponential) between a client's requests; 0: saturating")
    parser.add_argument("--processes", type=int, default=1, help="driver processes sharing the clients")
    parser.add_argument("--server-workers", type=int, default=2, help="tapserver serve --workers")
    parser.add_argument("--job-slots", type=int, default=1, help="TAPSERVER_WORKERS: async slots per HTTP worker")
    parser.add_argument("--mix", default=",".join(f"{k}={v}" for k, v in DEFAULT_MIX.items()),
                        help="request kinds and weights, e.g. cone=50,tables=5")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds of load before the measured window (latencies and RSS are of the window)")
    parser.add_argument("--baseline-runs", type=int, default=200, help="raw psycopg runs of the cone SQL")
    parser.add_argument("--url", help="load this running loopback server instead of setting one up")
    parser.add_argument("--server-pid", type=int, help="with --url: the server's master process (for RSS, CPU)")
    parser.add_argument("--keep-database", metavar="NAME",
                        help="use (and keep) this database on the server of TAPSERVER_DATABASE_URL instead of a "
                        "throwaway one; it is built only when it has no obscore rows yet (to rerun quickly)")
    parser.add_argument("--replica", action="store_true",
                        help="compare, in one run, one server on one cluster with the replica topology (a primary "
                        "and a streaming hot standby of their own, --server-workers servers, as many job workers, "
                        "queries on the standby); results bench/results/load_replica.json")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/load.json")
    args = parser.parse_args(argv)
    mix = {k: int(v) for k, v in (item.split("=") for item in args.mix.split(","))}
    if unknown := set(mix) - set(DEFAULT_MIX):
        parser.error(f"unknown request kinds {sorted(unknown)}")
    command = " ".join([".venv/bin/python -m bench.load", *(argv if argv is not None else sys.argv[1:])])

    if args.url:
        base = loopback(args.url)
        raw = os.environ.get("TAPSERVER_DATABASE_URL")
        tables = ["ivoa.obscore", "tap_schema.columns", "tap_schema.tables"]
        dids = [f"ivo://bench/obs?{i}" for i in range(1, args.datalink_datasets + 1)]
        if raw:
            tables, dids = catalog_facts(raw, args.datalink_datasets)
        baseline = raw_cone_baseline(raw, args.baseline_runs) if raw else []
        pids = [args.server_pid] if args.server_pid else []
        result = run_load(args, Plan((base,), mix, tables, dids, args.think), pids, [raw] if raw else [])
        figures, details = report(args, result, baseline)
        if not args.no_save:
            save(results_name(args), command, figures, details)
        return
    if args.replica:
        compare_topologies(args, mix, command)
        return

    from tapserver.config import load_settings

    with database(args.keep_database) as raw, \
            tempfile.TemporaryDirectory(prefix="tapserver-bench-load-") as scratch:
        if not args.keep_database or not has_rows(raw):
            build_database(raw, args.rows, args.datalink_datasets)
        tables, dids = catalog_facts(raw, args.datalink_datasets)
        baseline = raw_cone_baseline(raw, args.baseline_runs)
        with served(raw, args.server_workers, args.job_slots, Path(scratch)) as (base, pid):
            loopback(base)
            result = run_load(args, Plan((base,), mix, tables, dids, args.think), [pid], [raw])
        log = (Path(scratch) / "server.log").read_text(errors="replace").strip().splitlines()
        settings = load_settings(database_url=raw)
        figures, details = report(args, result, baseline)
        if not args.no_save:
            save(results_name(args), command, figures,
                 {**details, "server_log_tail": log[-20:], "pool_size": settings.pool_size})


def results_name(args: argparse.Namespace) -> str:
    """bench/results/<name>.json of a run: load, load_think<T> or load_replica."""
    if args.replica:
        return "load_replica"
    return "load" if args.think == 0 else f"load_think{args.think:g}"


@dataclass
class LoadResult:
    samples: Samples
    parts: list[Samples]
    start_offset: float
    series: list[dict[str, float]]
    server_cpu_seconds: float | None
    pg_cpu_seconds: float | None


def run_load(args: argparse.Namespace, plan: Plan, server_pids: list[int], database_urls: list[str]) -> LoadResult:
    """Load the servers of ``plan`` while watching the process trees of ``server_pids`` (servers and job
    workers) and the backends of ``database_urls``."""
    # Warm every server worker: catalog caches, first connections.
    with httpx.Client(timeout=60) as http:
        for _ in range(4):
            for base in plan.bases:
                http.get(f"{base}/tap/tables").raise_for_status()
                http.post(f"{base}/tap/sync", data={"LANG": "ADQL", "QUERY": cone_adql(random.Random(1)),
                                                    "MAXREC": "10"}).raise_for_status()
    monitor = Monitor(server_pids, database_urls)
    monitor.start()
    time.sleep(2.0)

    def tree_cpu() -> float:
        return cpu_seconds([pid for root in server_pids for pid in process_tree(root)])

    cpu0 = tree_cpu()
    pg_cpu0 = monitor.pg_cpu()
    print(f"loading {', '.join(plan.bases)}: {args.clients} clients, {args.duration:.0f} s, think {args.think} s, "
          f"{args.processes} driver processes", flush=True)
    samples, parts, start = drive(plan, args.clients, args.processes, args.warmup, args.duration,
                                  args.max_requests)
    server_cpu = tree_cpu() - cpu0 if server_pids else None
    pg_cpu = monitor.pg_cpu() - pg_cpu0 if database_urls else None
    time.sleep(2.0)
    monitor.stop()
    return LoadResult(samples, parts, start - monitor.t0, monitor.series, server_cpu, pg_cpu)


def report(args: argparse.Namespace, result: LoadResult, baseline: list[float]) -> tuple[list[Figure], dict[str, Any]]:
    """Print the run's summary; its figures and details for bench.report.save."""
    samples = result.samples
    seconds = samples.wall_seconds
    stats = {kind: kind_stats(values, seconds)
             for kind, values in sorted(samples.latencies.items())}
    errors = sum(samples.errors.values())
    completed = sum(int(s["count"]) for s in stats.values())
    per_second = [0] * (int(seconds) + 1)  # completions per second of the run: stalls show as gaps
    for values in samples.latencies.values():
        for began, latency in values:
            per_second[min(len(per_second) - 1, max(0, int(began + latency)))] += 1
    slowest = sorted(((lat, kind, began) for kind, values in samples.latencies.items() for began, lat in values),
                     reverse=True)[:10]
    end_offset = result.start_offset + seconds
    rss = rss_summary(result.series, result.start_offset, end_offset)
    backends = [p["pg_backends"] for p in result.series
                if "pg_backends" in p and result.start_offset <= p["t"] <= end_offset]
    raw_p50 = statistics.median(baseline) * 1000 if baseline else None
    mode = "saturating (no think time)" if args.think == 0 else f"interactive (think time {args.think} s)"
    print()
    print(f"mode: {mode}; {args.clients} clients over {args.processes} driver processes; measured window "
          f"{seconds:.1f} s after a {args.warmup:.0f} s warm-up ({samples.warmup_requests} requests, not in the "
          f"latencies); server --workers {args.server_workers}")
    print("| kind | count | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|")
    for kind, s in stats.items():
        print(f"| {kind} | {s['count']:.0f} | {samples.errors.get(kind, 0)} | {s['per_s']:.1f} | {s['p50_ms']:.1f} "
              f"| {s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} |")
    for kind in sorted(set(samples.errors) - set(stats)):
        print(f"| {kind} | 0 | {samples.errors[kind]} | - | - | - | - | - |")
    total_per_s = sum(st["per_s"] for st in stats.values())
    print(f"| **all** | {completed} | {errors} | {total_per_s:.1f} | | | | |")
    print(f"HTTP requests: {samples.http_requests} ({samples.http_requests / seconds:.1f}/s); "
          f"errors: {errors} (target 0)")
    print("completions per second: " + " ".join(str(n) for n in per_second))
    print("slowest: " + ", ".join(f"{kind} {lat * 1000:.0f} ms at {began:.1f} s" for lat, kind, began in slowest[:5]))
    if raw_p50 is not None and "cone" in stats:
        ordered = sorted(baseline)
        print(f"cone SQL via psycopg, one client: p50 {raw_p50:.1f} ms, p99 {quantile(ordered, 0.99) * 1000:.1f} ms;"
              f" over HTTP under load: p50 {stats['cone']['p50_ms']:.1f} ms, p99 {stats['cone']['p99_ms']:.1f} ms "
              f"(target p99 < 100 ms)")
    cores = os.cpu_count() or 1
    driver = ", ".join(f"{p.cpu_seconds / p.wall_seconds * 100:.0f} %" for p in result.parts if p.wall_seconds)
    print(f"driver CPU: {samples.cpu_seconds:.1f} s over {seconds:.1f} s (per process: {driver} of a core)")
    if result.server_cpu_seconds is not None:
        print(f"server tree CPU: {result.server_cpu_seconds:.1f} s ({result.server_cpu_seconds / seconds * 100:.0f} % "
              f"of one core; the machine has {cores})")
    if result.pg_cpu_seconds is not None:
        print(f"PostgreSQL backends CPU: {result.pg_cpu_seconds:.1f} s "
              f"({result.pg_cpu_seconds / seconds * 100:.0f} % of one core)")
    busy = [p["machine_busy_pct"] for p in result.series if result.start_offset + 1 <= p["t"] <= end_offset]
    if busy:
        print(f"machine CPUs busy during the load: {statistics.mean(busy):.0f} % on average "
              f"(anything else running on the machine included)")
    if rss:
        before = f"{rss['before_load_mb']:.0f} MB" if rss["before_load_mb"] is not None else "-"
        print(f"server RSS (tree): before {before}, first 10 s {rss['first_10s_mb']:.0f} MB, "
              f"last 10 s {rss['last_10s_mb']:.0f} MB (x{rss['last_over_first']:.2f}); in the window "
              f"min {rss['min_mb']:.0f} / max {rss['max_mb']:.0f} MB "
              f"(x{rss['max_over_min']:.2f}): {'flat' if rss['flat_within_20pct'] else 'NOT flat'} within 20 %")
    if backends:
        print(f"PostgreSQL backends on the database during the load: min {min(backends):.0f}, "
              f"max {max(backends):.0f}")
    for example in samples.error_examples:
        print("--- error:", example)

    who = f"{args.clients} clients, " + ("no think time" if args.think == 0 else f"{args.think} s mean think time")
    figures = [
        Figure(f"requests/s, all kinds ({who})", total_per_s, "req/s"),
        Figure("errors", errors, "count", target="0", higher_is_better=False, met=errors == 0),
    ]
    if "cone" in stats:
        p99 = stats["cone"]["p99_ms"]
        figures += [
            Figure("cone search p50 under load", stats["cone"]["p50_ms"], "ms",
                   baseline="same SQL via psycopg, one client, p50", baseline_value=raw_p50,
                   higher_is_better=False),
            # With closed-loop clients that never pause, latency is clients / throughput (Little's law):
            # the saturating run measures capacity, the interactive one the latency target.
            Figure("cone search p99 under load", p99, "ms", target="< 100 ms" if args.think > 0 else None,
                   higher_is_better=False, met=p99 < 100 if args.think > 0 else None),
        ]
    for kind, kind_figures in stats.items():
        if kind != "cone":
            figures.append(Figure(f"{kind} p99 under load (next to its p50)", kind_figures["p99_ms"], "ms",
                                  higher_is_better=False, baseline=f"{kind} p50",
                                  baseline_value=kind_figures["p50_ms"]))
    if rss:
        figures.append(Figure("server RSS max/min in the measured window", rss["max_over_min"], "ratio",
                              target="<= 1.2", higher_is_better=False, met=rss["max_over_min"] <= 1.2))
    details = {"mode": mode, "clients": args.clients, "duration_s": seconds, "warmup_s": args.warmup,
               "warmup_requests": samples.warmup_requests, "think_s": args.think,
               "driver_processes": args.processes, "server_workers": args.server_workers,
               "job_slots_per_worker": args.job_slots,
               "rows": args.rows, "mix": args.mix, "kinds": stats, "per_s": total_per_s,
               "all_kinds": kind_stats([v for values in samples.latencies.values() for v in values], seconds)
               if samples.latencies else None,
               "errors": samples.errors, "error_examples": samples.error_examples,
               "http_requests": samples.http_requests, "driver_cpu_s": samples.cpu_seconds,
               "server_cpu_s": result.server_cpu_seconds, "pg_backends_cpu_s": result.pg_cpu_seconds,
               "machine_busy_pct_mean": statistics.mean(busy) if busy else None, "raw_cone_p50_ms": raw_p50, "rss": rss,
               "pg_backends_max": max(backends) if backends else None,
               "completions_per_s": per_second,
               "slowest": [{"kind": kind, "ms": lat * 1000, "start_s": began} for lat, kind, began in slowest],
               "series": [{**p, "t": round(p["t"] - result.start_offset, 2)} for p in result.series]}
    return figures, details


# ------------------------------------------------------------------------------ single node against replica

def compare_topologies(args: argparse.Namespace, mix: dict[str, int], command: str) -> None:
    """Both topologies in one run, on one pair of clusters of their own and the same data: (a) one
    `tapserver serve --workers N` on the primary with its embedded job slots, queries on the primary;
    (b) N `tapserver serve` processes (one HTTP worker each) and N `tapserver worker` processes on the
    primary, queries on the streaming hot standby, the clients addressing the servers in turn. Both have N
    HTTP processes and N x ``--job-slots`` job slots, and meet the same clients, mix and window."""
    import psycopg

    from tests.replica.cluster import available, replicated_pair, scale_out

    if not available():
        raise SystemExit("--replica needs the PostgreSQL 15 server binaries and pgsphere")
    roots = {"TAPSERVER_DATA_ROOTS": json.dumps([str(DEMO / "data")])}
    with replicated_pair() as pair, tempfile.TemporaryDirectory(prefix="tapserver-bench-replica-") as scratch:
        with psycopg.connect(pair.primary.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE tapserver")
        primary, standby = pair.primary.url("tapserver"), pair.standby.url("tapserver")
        build_database(primary, args.rows, args.datalink_datasets)
        started = time.monotonic()
        pair.wait_replayed(timeout_s=900)
        print(f"standby caught up in {time.monotonic() - started:.0f} s", flush=True)
        tables, dids = catalog_facts(primary, args.datalink_datasets)
        baseline = raw_cone_baseline(primary, args.baseline_runs)
        single_dir, replica_dir = Path(scratch) / "single", Path(scratch) / "replica"
        single_dir.mkdir()
        replica_dir.mkdir()
        print("\n=== single node: one server on one cluster", flush=True)
        with served(primary, args.server_workers, args.job_slots, single_dir) as (base, pid):
            single = run_load(args, Plan((base,), mix, tables, dids, args.think), [pid], [primary])
        print(f"\n=== replica: {args.server_workers} servers and {args.server_workers} job workers, queries on "
              "the standby", flush=True)
        with scale_out(pair, "tapserver", replica_dir / "results", replica_dir, servers=args.server_workers,
                       workers=args.server_workers, concurrency=args.job_slots, extra=roots) as topology:
            for base, process in zip(topology.bases, topology.procs.started, strict=False):
                settle(base, process.pid)
            replica = run_load(args, Plan(tuple(topology.bases), mix, tables, dids, args.think), topology.pids,
                               [primary, standby])
    print("\n=== single node")
    single_figures, single_details = report(args, single, baseline)
    print("\n=== replica")
    replica_figures, replica_details = report(args, replica, baseline)
    figures = topology_figures(args, single_details, replica_details)
    details = {"topologies": {
        "single": {"layout": f"1 tapserver serve --workers {args.server_workers} (TAPSERVER_WORKERS="
                             f"{args.job_slots}) on the primary, queries on the primary",
                   "figures": [asdict(f) for f in single_figures], **single_details},
        "replica": {"layout": f"{args.server_workers} tapserver serve (TAPSERVER_WORKERS=0) and "
                              f"{args.server_workers} tapserver worker --concurrency {args.job_slots} on the "
                              "primary, queries on the hot standby, clients addressing the servers in turn",
                    "figures": [asdict(f) for f in replica_figures], **replica_details}},
        "cores": os.cpu_count()}
    print()
    for figure in figures:
        ratio = f" (x{figure.ratio:.2f} of single node)" if figure.ratio is not None else ""
        print(f"{figure.figure}: {figure.value:.1f} {figure.unit}{ratio}")
    if not args.no_save:
        save(results_name(args), command, figures, details)


def topology_figures(args: argparse.Namespace, single: dict[str, Any], replica: dict[str, Any]) -> list[Figure]:
    """Replica figures next to the single node's of the same run: throughput (ratio replica / single),
    p50 and p99 of all requests and of the sync cone search and the async job, errors."""
    who = f"{args.clients} clients, " + ("no think time" if args.think == 0 else f"{args.think} s mean think time")
    figures = [
        Figure(f"single node: requests/s, all kinds ({who})", single["per_s"], "req/s"),
        Figure(f"replica: requests/s, all kinds ({who})", replica["per_s"], "req/s",
               baseline="single node", baseline_value=single["per_s"]),
    ]
    for kind, label in (("all", "all requests"), ("cone", "sync cone search"), ("async", "async job, submit to "
                                                                                            "DELETE")):
        one, other = ((single["all_kinds"], replica["all_kinds"]) if kind == "all"
                      else (single["kinds"].get(kind), replica["kinds"].get(kind)))
        if one is None or other is None:
            continue
        for q in ("p50", "p99"):
            figures.append(Figure(f"replica: {label} {q}", other[f"{q}_ms"], "ms", baseline=f"single node {q}",
                                  baseline_value=one[f"{q}_ms"], higher_is_better=False))
    # CPU per request does not depend on how much of the machine the run got (it is shared): the overhead.
    for key, label in (("server_cpu_s", "servers and job workers"), ("pg_backends_cpu_s", "PostgreSQL backends")):
        one, other = per_request_ms(single, key), per_request_ms(replica, key)
        if one is not None and other is not None:
            figures.append(Figure(f"replica: CPU of the {label} per request", other, "ms",
                                  baseline="single node", baseline_value=one, higher_is_better=False))
    errors = sum(single["errors"].values()) + sum(replica["errors"].values())
    figures.append(Figure("errors, both topologies", errors, "count", target="0", higher_is_better=False,
                          met=errors == 0))
    return figures


def per_request_ms(details: dict[str, Any], key: str) -> float | None:
    """CPU seconds ``details[key]`` of a run per request completed in it, in ms."""
    completed = sum(int(kind["count"]) for kind in details["kinds"].values())
    return details[key] / completed * 1000 if details.get(key) is not None and completed else None


if __name__ == "__main__":
    main()
