"""Async job queries in the query log (``tapserver.query``, mode async) and the query metrics."""

from __future__ import annotations

import logging
import socket
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tapserver.config import Settings
from tapserver.db import make_engines
from tapserver.errors import SetupError
from tapserver.factory import Factory
from tapserver.observability import REGISTRY, serve_worker_metrics
from tapserver.uws.model import JobParameters, Phase, new_job_id, utcnow
from tapserver.uws.reaper import Reaper
from tapserver.uws.store import JobStore, NewJob
from tapserver.uws.worker import Worker, WorkerOptions
from tests.uws.test_api import create, wait_final
from tests.uws.test_processes import slow_query
from tests.uws.test_worker import wait_until

pytestmark = pytest.mark.usefixtures("clean_jobs")


def queries(status: str) -> float:
    return REGISTRY.get_sample_value("tapserver_queries_total", {"mode": "async", "status": status}) or 0.0


def async_rows() -> float:
    return REGISTRY.get_sample_value("tapserver_query_rows_total", {"mode": "async"}) or 0.0


def async_bytes() -> float:
    return REGISTRY.get_sample_value("tapserver_query_bytes_total", {"mode": "async"}) or 0.0


def submit(store: JobStore, query: str, owner: str | None = "alice", duration: int = 60) -> str:
    job_id = new_job_id()
    params = JobParameters()
    params.update([("LANG", "ADQL"), ("QUERY", query), ("FORMAT", "csv")])
    store.create(NewJob(job_id=job_id, owner_id=owner, run_id=None, parameters=params, uploads=(),
                        execution_duration=duration, destruction_time=utcnow().replace(year=2100), queue=True))
    return job_id


def lines(caplog: pytest.LogCaptureFixture, job_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tapserver.query" and getattr(r, "job_id", None) == job_id]


@pytest.fixture()
def worker(uws_settings: Settings) -> Iterator[Worker]:
    factory = Factory.build(uws_settings)
    running = factory.create_worker(options=WorkerOptions(concurrency=1, poll_interval=0.5, shutdown_grace=0.2))
    running.start()
    assert running.wait_registered(10)
    try:
        yield running
    finally:
        running.stop()
        factory.close()


def final(store: JobStore, job_id: str) -> Phase:
    wait_until(lambda: store.phase(job_id)[0] in (Phase.COMPLETED, Phase.ERROR, Phase.ABORTED))  # type: ignore[index]
    return store.phase(job_id)[0]  # type: ignore[index]


def logged(caplog: pytest.LogCaptureFixture, job_id: str) -> logging.LogRecord:
    """The job's one query-log line (written just after the phase change: wait a moment for it)."""
    wait_until(lambda: bool(lines(caplog, job_id)), timeout=10)
    time.sleep(0.2)
    (record,) = lines(caplog, job_id)
    return record


def test_completed_job_is_logged_and_counted(worker: Worker, caplog: pytest.LogCaptureFixture) -> None:
    ok, rows, nbytes = queries("OK"), async_rows(), async_bytes()
    with caplog.at_level(logging.INFO, logger="tapserver.query"):
        job_id = submit(worker.store, "SELECT TOP 3 obs_id FROM ivoa.obscore ORDER BY obs_id")
        assert final(worker.store, job_id) is Phase.COMPLETED
        record = logged(caplog, job_id)
    job = worker.store.get(job_id)
    assert job is not None and job.results
    assert record.mode == "async" and record.status == "OK"  # type: ignore[attr-defined]
    assert record.phase == "COMPLETED" and record.user == "alice"  # type: ignore[attr-defined]
    assert record.rows == 3 and record.rows == job.results[0].row_count  # type: ignore[attr-defined]
    assert record.bytes == job.results[0].size_bytes and record.bytes > 0  # type: ignore[attr-defined]
    assert "ivoa.obscore" in record.adql and record.duration_ms > 0  # type: ignore[attr-defined]
    message = record.getMessage()
    assert message.startswith("async query OK in ") and f"[job {job_id}, user alice]" in message
    assert queries("OK") == ok + 1
    assert async_rows() == rows + 3
    assert async_bytes() == nbytes + job.results[0].size_bytes


def test_error_job_is_logged(worker: Worker, caplog: pytest.LogCaptureFixture) -> None:
    errors = queries("ERROR")
    with caplog.at_level(logging.INFO, logger="tapserver.query"):
        job_id = submit(worker.store, "SELECT 1/0 AS boom FROM ivoa.obscore", owner=None)
        assert final(worker.store, job_id) is Phase.ERROR
        record = logged(caplog, job_id)
    assert record.status == "ERROR" and record.phase == "ERROR"  # type: ignore[attr-defined]
    assert record.user is None and "user -]" in record.getMessage()  # type: ignore[attr-defined]
    assert "1/0" in record.adql  # type: ignore[attr-defined]
    assert queries("ERROR") == errors + 1


def test_bad_adql_job_is_logged_with_its_text(worker: Worker, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tapserver.query"):
        job_id = submit(worker.store, "SELEKT nothing")
        assert final(worker.store, job_id) is Phase.ERROR
        record = logged(caplog, job_id)
    assert record.status == "ERROR" and record.adql == "SELEKT nothing"  # type: ignore[attr-defined]
    assert record.rows is None  # type: ignore[attr-defined]


def test_aborted_job_is_logged(worker: Worker, caplog: pytest.LogCaptureFixture) -> None:
    aborted = queries("ABORTED")
    with caplog.at_level(logging.INFO, logger="tapserver.query"):
        job_id = submit(worker.store, slow_query(7, rows=2000))
        wait_until(lambda: worker.store.phase(job_id)[0] is Phase.EXECUTING)  # type: ignore[index]
        time.sleep(0.3)
        assert worker.store.abort(job_id) is not None
        record = logged(caplog, job_id)
    assert record.status == "ABORTED" and record.phase == "ABORTED"  # type: ignore[attr-defined]
    assert queries("ABORTED") == aborted + 1


def test_handed_back_job_is_not_logged(uws_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """A clean stop hands the running job back (QUEUED): it will run again, so no line yet."""
    factory = Factory.build(uws_settings)
    worker = factory.create_worker(options=WorkerOptions(concurrency=1, shutdown_grace=0.1))
    try:
        with caplog.at_level(logging.INFO, logger="tapserver.query"):
            job_id = submit(worker.store, slow_query(8, rows=2000))
            worker.start()
            wait_until(lambda: worker.store.phase(job_id)[0] is Phase.EXECUTING)  # type: ignore[index]
            time.sleep(0.3)
            worker.stop()
            time.sleep(0.2)
        assert worker.store.phase(job_id)[0] is Phase.QUEUED  # type: ignore[index]
        assert lines(caplog, job_id) == []
    finally:
        factory.close()


def test_jobs_the_maintenance_fails_are_logged(uws_settings: Settings, uws_admin: Engine,
                                               caplog: pytest.LogCaptureFixture) -> None:
    engines = make_engines(uws_settings)
    try:
        store = JobStore(engines.admin)
        job_id = submit(store, "SELECT TOP 1 obs_id FROM ivoa.obscore", owner="bob")
        start = utcnow() - timedelta(seconds=90)
        with uws_admin.begin() as conn:  # as the reaper leaves a job of a dead worker
            conn.execute(text("UPDATE uws.job SET phase = 'ERROR', start_time = :s, end_time = :e "
                              "WHERE job_id = :j"), {"s": start, "e": start + timedelta(seconds=30), "j": job_id})
        errors = queries("ERROR")
        with caplog.at_level(logging.INFO, logger="tapserver.query"):
            Reaper(store, None).log_queries([job_id, "no-such-job"])  # type: ignore[arg-type]
        (record,) = lines(caplog, job_id)
        assert record.status == "ERROR" and record.user == "bob"  # type: ignore[attr-defined]
        assert record.duration_ms == pytest.approx(30_000, abs=1)  # type: ignore[attr-defined]
        assert queries("ERROR") == errors + 1
    finally:
        engines.dispose()


def test_embedded_worker_counts_show_in_the_server_metrics(client: TestClient) -> None:
    """Jobs run by the workers embedded in `tapserver serve` count in the server's own /metrics."""
    def scraped() -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith('tapserver_queries_total{mode="async",status="OK"}'):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = scraped()
    job = create(client, LANG="ADQL", QUERY="SELECT TOP 2 obs_id FROM ivoa.obscore", PHASE="RUN")
    assert wait_final(client, job).findtext("{http://www.ivoa.net/xml/UWS/v1.0}phase") == "COMPLETED"
    wait_until(lambda: scraped() == before + 1, timeout=10)


def test_standalone_worker_metrics_port(uws_settings: Settings) -> None:
    """`tapserver worker` may serve its own counters (TAPSERVER_WORKER_METRICS_PORT)."""
    assert serve_worker_metrics(uws_settings) is None  # off by default
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = uws_settings.model_copy(update={"worker_metrics_port": port, "worker_metrics_host": "127.0.0.1"})
    stop = serve_worker_metrics(settings)
    assert stop is not None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            body = response.read().decode()
        assert "# TYPE tapserver_queries_total counter" in body and "tapserver_query_duration_seconds" in body
        with pytest.raises(SetupError, match=f"cannot serve the worker metrics on 127.0.0.1:{port}"):
            serve_worker_metrics(settings)  # the port is taken
    finally:
        stop()
