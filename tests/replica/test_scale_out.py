"""Scale-out as documented in docs/operations.md, run for real.

A primary and a streaming hot standby (``pg_basebackup -R``), two ``tapserver serve`` processes without
embedded job slots and two ``tapserver worker`` processes sharing one results directory, user queries on
the standby (``TAPSERVER_QUERY_DATABASE_URL``), jobs and everything written on the primary.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import pyvo
from astropy.table import Table as AstropyTable

from tests import stilts
from tests.e2e.conftest import DEMO
from tests.e2e.server import run
from tests.replica.cluster import ReplicatedPair, available, replicated_pair, scale_out
from tests.uws.procs import _env

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.replica,
              pytest.mark.skipif(not available(), reason="PostgreSQL 15 server binaries are not installed")]

COUNT = "SELECT COUNT(*) AS n FROM ivoa.obscore"


@dataclass
class Topology:
    pair: ReplicatedPair
    primary_url: str
    bases: tuple[str, str]

    def tap(self, i: int) -> pyvo.dal.TAPService:
        return pyvo.dal.TAPService(f"{self.bases[i]}/tap")


def _cli(*args: str, database_url: str) -> None:
    code, output = run(args, _env(database_url, Path("/nonexistent"), {}))
    assert code == 0, f"tapserver {' '.join(args)} failed:\n{output}"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    tmp = tmp_path_factory.mktemp("replica")
    with replicated_pair() as pair:
        primary_url = pair.primary.url("tapserver")
        _cli("db", "upgrade", "--create", database_url=primary_url)
        _cli("ingest", str(DEMO / "data" / "fact"), "--config", str(DEMO / "fact.toml"), "--quiet",
             database_url=primary_url)
        pair.wait_replayed()
        with scale_out(pair, "tapserver", tmp / "results", tmp,
                       extra={"TAPSERVER_DATA_ROOTS": f'["{DEMO / "data"}"]'}) as topology:
            first, second = topology.bases
            yield Topology(pair, primary_url, (first, second))


def _count(tap: pyvo.dal.TAPService) -> int:
    return int(tap.search(COUNT)["n"][0])


def _primary_count(topology: Topology) -> int:
    with psycopg.connect(topology.primary_url) as conn:
        row = conn.execute("SELECT count(*) FROM ivoa.obscore").fetchone()
        assert row is not None
        return int(row[0])


def test_queries_run_on_the_standby(topology: Topology) -> None:
    """The query connection really is the standby: a write is refused there, and both servers answer."""
    assert _count(topology.tap(0)) == _count(topology.tap(1)) == _primary_count(topology) > 0
    with psycopg.connect(topology.pair.standby.url("tapserver"), autocommit=True) as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        assert row and row[0]


def test_async_job_visible_and_fetchable_through_every_server(topology: Topology) -> None:
    job = topology.tap(0).submit_job("SELECT obs_id, t_min FROM ivoa.obscore ORDER BY obs_id")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=120)
    assert job.phase == "COMPLETED", job.phase
    expected = _primary_count(topology)
    for base in topology.bases:
        other = pyvo.dal.AsyncTAPJob(job.url.replace(topology.bases[0], base))
        assert other.phase == "COMPLETED"
        assert len(other.fetch_result().to_table()) == expected
    job.delete()


def test_run_async_on_each_server(topology: Topology) -> None:
    for i in (0, 1):
        assert len(topology.tap(i).run_async(COUNT).to_table()) == 1


def _targets(topology: Topology) -> AstropyTable:
    with psycopg.connect(topology.primary_url) as conn:
        rows = conn.execute("SELECT obs_id, s_ra, s_dec FROM ivoa.obscore ORDER BY obs_id LIMIT 3").fetchall()
    return AstropyTable(rows=rows, names=("name", "ra", "dec"))


MATCH = ("SELECT u.name, o.obs_id FROM TAP_UPLOAD.targets AS u JOIN ivoa.obscore AS o "
         "ON o.obs_id = u.name ORDER BY o.obs_id")


def test_upload_sync_and_async_on_the_standby(topology: Topology) -> None:
    targets = _targets(topology)
    for i in (0, 1):
        tap = topology.tap(i)
        sync = tap.search(MATCH, uploads={"targets": targets}).to_table()
        assert list(sync["obs_id"]) == list(targets["name"])
        job = tap.run_async(MATCH, uploads={"targets": targets}).to_table()
        assert list(job["obs_id"]) == list(targets["name"])


def taplint(tap_url: str) -> tuple[int, str]:
    run = stilts.run("taplint", f"tapurl={tap_url}", "report=EW", timeout=900)
    match = re.search(r"^Totals: Errors: (\d+); Warnings: (\d+)", run.stdout, re.MULTILINE)
    assert match, f"no Totals line:\n{run.stdout}\n{run.stderr}"
    return int(match.group(1)), run.stdout


@pytest.mark.skipif(not stilts.installed(), reason="stilts is not installed")
def test_taplint_all_stages(topology: Topology) -> None:
    errors, report = taplint(f"{topology.bases[1]}/tap")
    assert errors == 0, report


def test_replication_lag_gives_the_standby_snapshot(topology: Topology) -> None:
    """While the standby lags, a query answers from one consistent snapshot (metadata and rows of the
    standby), never an error; once replay resumes, the new rows appear."""
    standby = topology.pair.standby.url("tapserver")
    before = _count(topology.tap(0))
    with psycopg.connect(standby, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        with psycopg.connect(topology.primary_url, autocommit=True) as conn:
            conn.execute("CREATE TEMPORARY TABLE probe AS SELECT * FROM ivoa.obscore")
            conn.execute("UPDATE probe SET obs_id = obs_id || '-copy', "
                         "obs_publisher_did = obs_publisher_did || '-copy'")
            conn.execute("INSERT INTO ivoa.obscore SELECT * FROM probe")
        assert _primary_count(topology) == 2 * before
        assert _count(topology.tap(0)) == before
    finally:
        with psycopg.connect(standby, autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
    topology.pair.wait_replayed()
    assert _count(topology.tap(1)) == 2 * before
    with psycopg.connect(topology.primary_url, autocommit=True) as conn:
        conn.execute("DELETE FROM ivoa.obscore WHERE obs_id LIKE '%-copy'")
    topology.pair.wait_replayed()


def _sync(base: str, query: str) -> tuple[int, bytes]:
    data = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": query}).encode()
    try:
        with urllib.request.urlopen(f"{base}/tap/sync", data=data, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_standby_down_is_503_and_recovers(topology: Topology) -> None:
    with psycopg.connect(topology.primary_url) as conn:
        row = conn.execute("SELECT obs_publisher_did FROM ivoa.obscore LIMIT 1").fetchone()
        assert row is not None
    links = f"{topology.bases[1]}/datalink/links?" + urllib.parse.urlencode({"ID": row[0]})
    topology.pair.standby.stop()
    try:
        status, body = _sync(topology.bases[0], COUNT)
        assert status == 503, body[:500]
        assert b'name="QUERY_STATUS" value="ERROR"' in body
        assert b"unavailable" in body
        # Job bookkeeping and DataLink live on the primary: they still answer.
        for url in (f"{topology.bases[1]}/tap/async", links):
            with urllib.request.urlopen(url, timeout=30) as response:
                assert response.status == 200, url
    finally:
        topology.pair.standby.start()
    deadline = time.monotonic() + 60
    while True:
        status, body = _sync(topology.bases[0], COUNT)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == 200, body[:500]
