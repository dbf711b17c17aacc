"""The worker in-process: bounded concurrency, execution duration as statement_timeout, clean hand-back."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, Engine, text

from tapserver.config import Settings
from tapserver.factory import Factory
from tapserver.uws.model import JobParameters, Phase, new_job_id, utcnow
from tapserver.uws.store import JobStore, NewJob
from tapserver.uws.worker import WorkerOptions
from tests.uws.test_processes import slow_query

pytestmark = pytest.mark.usefixtures("clean_jobs")


def submit(store: JobStore, query: str, duration: int = 60) -> str:
    job_id = new_job_id()
    params = JobParameters()
    params.update([("LANG", "ADQL"), ("QUERY", query)])
    store.create(NewJob(job_id=job_id, owner_id=None, run_id=None, parameters=params, uploads=(),
                        execution_duration=duration, destruction_time=utcnow().replace(year=2100), queue=True))
    return job_id


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def executing(conn: Connection, worker_no: int | None) -> int:
    """Jobs the worker is running now (``conn`` is read committed: each statement sees the latest phases)."""
    return int(conn.execute(text("SELECT count(*) FROM uws.job WHERE phase = 'EXECUTING' AND worker_no = :w"),
                            {"w": worker_no}).scalar_one())


def test_concurrency_is_bounded_and_timeouts_apply(uws_settings: Settings, uws_admin: Engine) -> None:
    factory = Factory.build(uws_settings)
    worker = factory.create_worker(options=WorkerOptions(concurrency=2, poll_interval=1.0))
    store = worker.store
    try:
        worker.start()
        assert worker.wait_registered(10)
        jobs = [submit(store, slow_query(i, rows=1)) for i in range(5)]
        timed_out = submit(store, slow_query(99, rows=2000), duration=1)
        most = 0
        deadline = time.monotonic() + 120
        with uws_admin.connect() as conn:  # sampled every 20 ms: one connection, not one each time
            while any(store.phase(j)[0] not in (Phase.COMPLETED, Phase.ERROR) for j in [*jobs, timed_out]):  # type: ignore[index]
                most = max(most, executing(conn, worker.worker_no))
                assert time.monotonic() < deadline
                time.sleep(0.02)
        assert most == 2  # both slots were used, never more
        assert all(store.phase(j)[0] is Phase.COMPLETED for j in jobs)  # type: ignore[index]
        job = store.get(timed_out)
        assert job is not None and job.phase is Phase.ERROR
        assert job.error_message is not None and "time limit" in job.error_message.lower()
        assert job.end_time is not None and job.start_time is not None
        assert (job.end_time - job.start_time).total_seconds() < 10  # 1 s statement_timeout, not the query's hours
    finally:
        worker.stop()
        factory.close()


def test_clean_stop_hands_running_jobs_back(uws_settings: Settings, uws_admin: Engine) -> None:
    factory = Factory.build(uws_settings)
    first = factory.create_worker(options=WorkerOptions(concurrency=1, shutdown_grace=0.2))
    store = first.store
    job_id = submit(store, slow_query(1, rows=2000))
    first.start()
    try:
        wait_until(lambda: store.phase(job_id)[0] is Phase.EXECUTING)  # type: ignore[index]
        first_no = first.worker_no
        time.sleep(0.3)
    finally:
        first.stop()
    job = store.get(job_id)
    assert job is not None and job.phase is Phase.QUEUED and job.attempt == 1 and job.start_time is None
    with uws_admin.connect() as conn:  # the stopped worker left the registry
        assert conn.execute(text("SELECT count(*) FROM uws.worker WHERE worker_no = :w"),
                            {"w": first_no}).scalar_one() == 0
    second = factory.create_worker(options=WorkerOptions(concurrency=1))
    second.start()
    try:
        wait_until(lambda: store.phase(job_id)[0] is Phase.EXECUTING)  # type: ignore[index]
        job = store.get(job_id)
        assert job is not None and job.attempt == 2 and job.worker_no == second.worker_no
        store.abort(job_id)
    finally:
        second.stop()
        factory.close()
    history = [h.phase for h in store.history(job_id)]
    assert history == [Phase.QUEUED, Phase.EXECUTING, Phase.QUEUED, Phase.EXECUTING, Phase.ABORTED]
