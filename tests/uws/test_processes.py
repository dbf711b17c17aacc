"""Real processes: several servers and workers on one database; kill -9 mid-run and restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from lxml import etree
from sqlalchemy import Engine, text

from tests.e2e.server import wait_until_available
from tests.uws.procs import processes

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.usefixtures("clean_jobs")]

U = "{http://www.ivoa.net/xml/UWS/v1.0}"


def slow_query(n: int, rows: int = 8) -> str:
    """A genuinely slow query (about 2000 x 2000 x ``rows`` row combinations), distinct per ``n``."""
    ids = ", ".join(f"'obs-{i}'" for i in range(1, rows + 1))
    return (f"SELECT COUNT(*) AS c{n} FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c "
            f"WHERE c.obs_id IN ({ids})")


def quick_query(n: int) -> str:
    """A query of a few milliseconds, distinct per ``n``."""
    return f"SELECT COUNT(*) AS c{n} FROM ivoa.obscore"


def submit(client: httpx.Client, base: str, query: str) -> str:
    r = client.post(f"{base}/tap/async", data={"LANG": "ADQL", "QUERY": query, "PHASE": "RUN"})
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[1]


def phases(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {str(job_id): str(phase) for job_id, phase in conn.execute(text("SELECT job_id, phase FROM uws.job"))}


def running(engine: Engine, marker: str) -> int:
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                                  "AND datname = current_database() AND pid <> pg_backend_pid() "
                                  "AND query LIKE :m"), {"m": f"%{marker}%"})
        return int(count.scalar_one())


def wait_registered(engine: Engine, slots: dict[int, int], timeout: float = 60) -> None:
    """Until the processes of the given pids have registered their job slots (so many each)."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            registered = dict(conn.execute(text("SELECT pid, concurrency FROM uws.worker WHERE pid = ANY(:p)"),
                                           {"p": list(slots)}).all())
        if registered == slots:
            return
        assert time.monotonic() < deadline, registered
        time.sleep(0.05)


def test_kill_minus_nine_and_restart(uws_database: str, uws_admin: Engine, tmp_path: Path) -> None:
    """20 jobs; the server (2 slots) and a worker (2 slots) are SIGKILLed while jobs run; after a restart
    every job ends COMPLETED or ERROR (with a message), none is lost, none ran twice.

    Jobs are claimed in the order they were queued, and both processes have registered their slots before the
    first is submitted: the first four are slow (the four slots are busy with them at the kill), the sixteen
    after them quick and waiting, so that the restart does not wait for more cross joins to burn CPU."""
    data_dir = tmp_path / "data"
    with processes(uws_database, data_dir, tmp_path) as procs:
        worker = procs.worker(concurrency=2)
        base, server = procs.server(workers=2)
        wait_registered(uws_admin, {server.pid: 2, worker.pid: 2})
        with httpx.Client(timeout=30) as client:
            jobs = [submit(client, base, slow_query(i) if i < 4 else quick_query(i)) for i in range(20)]
        deadline = time.monotonic() + 30
        while list(phases(uws_admin).values()).count("EXECUTING") < 3:
            assert time.monotonic() < deadline, phases(uws_admin)
            time.sleep(0.05)
        procs.kill(server)
        procs.kill(worker)
        before = phases(uws_admin)
        assert set(before) == set(jobs)
        assert "EXECUTING" in before.values() and "QUEUED" in before.values()
        # PostgreSQL notices the dead clients (client_connection_check_interval) and stops their statements
        deadline = time.monotonic() + 5
        while running(uws_admin, "ivoa.obscore AS c"):
            assert time.monotonic() < deadline, "statements of killed workers still run"
            time.sleep(0.1)

        procs.worker(concurrency=2)  # starts while the server does
        base, _ = procs.server(workers=2)
        deadline = time.monotonic() + 120
        while any(p in ("QUEUED", "EXECUTING") for p in phases(uws_admin).values()):
            assert time.monotonic() < deadline, phases(uws_admin)
            time.sleep(0.2)

        after = phases(uws_admin)
        assert set(after) == set(jobs)  # none lost
        assert set(after.values()) <= {"COMPLETED", "ERROR"}
        with uws_admin.connect() as conn:
            errors = conn.execute(text("SELECT job_id, error_message FROM uws.job WHERE phase = 'ERROR'")).all()
            runs: dict[str, int] = dict(conn.execute(text(
                "SELECT job_id, count(*) FILTER (WHERE phase = 'EXECUTING') FROM uws.phase_history GROUP BY job_id"
            )).all())
            attempts: dict[str, int] = dict(conn.execute(text("SELECT job_id, attempt FROM uws.job")).all())
        # the jobs interrupted by the kill, and only those, ended in ERROR with a message
        interrupted = {j for j, p in before.items() if p == "EXECUTING"}
        assert {j for j, _ in errors} == interrupted
        assert all(m and "worker" in m for _, m in errors)
        assert all(runs[j] == 1 and attempts[j] == 1 for j in jobs)  # each ran (started) exactly once
        with httpx.Client(timeout=30) as client:
            for job_id in jobs:
                if after[job_id] == "COMPLETED":
                    r = client.get(f"{base}/tap/async/{job_id}/results/result")
                    assert r.status_code == 200 and b"QUERY_STATUS" in r.content


def test_two_servers_two_workers_share_one_job_list(uws_database: str, uws_admin: Engine, tmp_path: Path) -> None:
    with processes(uws_database, tmp_path / "data", tmp_path) as procs:
        workers = [procs.worker(concurrency=1) for _ in range(2)]  # the four processes start side by side
        servers = [procs.server(workers=0, wait=False) for _ in range(2)]
        for base, server in servers:
            wait_until_available(base, server)
        # both workers take jobs only if both have registered before the ten jobs are done
        wait_registered(uws_admin, {worker.pid: 1 for worker in workers})
        bases = [base for base, _ in servers]
        with httpx.Client(timeout=70) as client:
            jobs = [submit(client, bases[i % 2], slow_query(i, rows=1)) for i in range(10)]
            finished: dict[str, str] = {}

            def wait(job_id: str, base: str) -> None:
                for _ in range(20):
                    doc = etree.fromstring(client.get(f"{base}/tap/async/{job_id}", params={"WAIT": "30"}).content)
                    phase = doc.findtext(U + "phase")
                    if phase in ("COMPLETED", "ERROR", "ABORTED"):
                        finished[job_id] = phase
                        return

            threads = [threading.Thread(target=wait, args=(j, bases[(i + 1) % 2])) for i, j in enumerate(jobs)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert finished == {j: "COMPLETED" for j in jobs}
            phases = [{j: etree.fromstring(client.get(f"{base}/tap/async/{j}").content).findtext(U + "phase")
                       for j in jobs} for base in bases]
            assert phases[0] == phases[1] == finished  # both servers see every job the same
            for i, job_id in enumerate(jobs):  # results are served by either server
                r = client.get(f"{bases[i % 2]}/tap/async/{job_id}/results/result")
                assert r.status_code == 200
        with uws_admin.connect() as conn:
            takers = conn.execute(text("SELECT count(DISTINCT worker_no) FROM uws.phase_history "
                                       "WHERE phase = 'EXECUTING'")).scalar_one()
        assert takers == 2  # both workers took jobs
