"""The job store against PostgreSQL: the queue claims each job once, fencing, history, NOTIFY, reaping."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from tapserver.config import Settings
from tapserver.uws.model import ErrorType, JobFilter, JobParameters, Phase, ResultInfo, new_job_id, utcnow
from tapserver.uws.reaper import DEAD_WORKER_MESSAGE, Reaper
from tapserver.uws.results import FileResultsStore
from tapserver.uws.store import JobStore, NewJob, worker_channel
from tapserver.uws.worker import libpq_conninfo

pytestmark = pytest.mark.usefixtures("clean_jobs")


@pytest.fixture()
def store(uws_admin: Engine) -> JobStore:
    return JobStore(uws_admin)


def add_job(store: JobStore, *, queue: bool = False, owner: str | None = None, query: str = "SELECT 1",
            destruction_in: timedelta = timedelta(days=1)) -> str:
    job_id = new_job_id()
    params = JobParameters()
    params.update([("LANG", "ADQL"), ("QUERY", query), ("RUNID", "r-" + job_id)])
    store.create(NewJob(job_id=job_id, owner_id=owner, run_id="r-" + job_id, parameters=params, uploads=(),
                        execution_duration=60, destruction_time=utcnow() + destruction_in, queue=queue))
    return job_id


def register(settings: Settings) -> tuple[psycopg.Connection, int]:
    conn = psycopg.connect(libpq_conninfo(settings), autocommit=True)
    return conn, JobStore.register_worker(conn, "test", 1, 1)


def wait_for_backend_exit(conn: psycopg.Connection, pid: int, timeout_s: float = 30.0) -> None:
    """Wait until the server process ``pid`` has ended (a closed client's session ends asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() is not None:
        assert time.monotonic() < deadline, f"backend {pid} still running after {timeout_s} s"
        time.sleep(0.05)


def test_create_get_and_parameters(store: JobStore) -> None:
    job_id = add_job(store)
    job = store.get(job_id)
    assert job is not None and job.phase is Phase.PENDING and job.quote is None
    assert job.parameters.get("QUERY") == "SELECT 1" and job.run_id == "r-" + job_id
    assert store.get("nope") is None

    def change(params: JobParameters) -> JobParameters:
        params.update([("QUERY", "SELECT 2"), ("RUNID", "new")])
        return params

    assert store.update_pending(job_id, change, lambda p: p.get("RUNID")) is Phase.PENDING
    job = store.get(job_id)
    assert job is not None and job.parameters.get("QUERY") == "SELECT 2" and job.run_id == "new"
    store.queue(job_id)
    assert store.update_pending(job_id, change, lambda p: None) is Phase.QUEUED  # refused: not PENDING
    job = store.get(job_id)
    assert job is not None and job.phase is Phase.QUEUED and job.quote is not None


def test_each_job_is_claimed_once_under_contention(store: JobStore, uws_settings: Settings) -> None:
    jobs = {add_job(store, queue=True) for _ in range(60)}
    conn, worker_no = register(uws_settings)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer() -> None:
        while (job := store.claim(worker_no)) is not None:
            with lock:
                claimed.append(job.job_id)

    threads = [threading.Thread(target=claimer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.close()
    assert sorted(claimed) == sorted(jobs)  # all claimed, none twice
    assert all(store.get(j).phase is Phase.EXECUTING for j in jobs)  # type: ignore[union-attr]


def test_claim_order_is_fifo(store: JobStore, uws_settings: Settings) -> None:
    first, second = add_job(store, queue=True), add_job(store, queue=True)
    conn, worker_no = register(uws_settings)
    try:
        assert store.claim(worker_no).job_id == first  # type: ignore[union-attr]
        assert store.claim(worker_no).job_id == second  # type: ignore[union-attr]
        assert store.claim(worker_no) is None
    finally:
        conn.close()


def test_fencing(store: JobStore, uws_settings: Settings) -> None:
    conn, worker_no = register(uws_settings)
    try:
        job_id = add_job(store, queue=True)
        claimed = store.claim(worker_no)
        assert claimed is not None and claimed.attempt == 1
        result = ResultInfo("result", f"jobs/{job_id}/result.vot", "application/x-votable+xml", 10, 1)
        assert not store.complete(job_id, 2, result)  # wrong attempt
        assert store.abort(job_id).after is Phase.ABORTED  # type: ignore[union-attr]
        assert not store.complete(job_id, 1, result)  # aborted meanwhile
        assert not store.fail(job_id, 1, "late", ErrorType.FATAL)
        job = store.get(job_id)
        assert job is not None and job.phase is Phase.ABORTED and not job.results and job.error_message is None

        other = add_job(store, queue=True)
        claimed = store.claim(worker_no)
        assert claimed is not None and store.complete(other, claimed.attempt, result)
        job = store.get(other)
        assert job is not None and job.phase is Phase.COMPLETED and job.results == (result,)
        assert [h.phase for h in store.history(other)] == [Phase.QUEUED, Phase.EXECUTING, Phase.COMPLETED]
    finally:
        conn.close()


def test_transitions(store: JobStore) -> None:
    job_id = add_job(store)
    assert store.suspend(job_id) is not None and not store.suspend(job_id).changed  # type: ignore[union-attr]
    assert store.queue(job_id).after is Phase.QUEUED  # type: ignore[union-attr]
    assert store.suspend(job_id).after is Phase.SUSPENDED  # type: ignore[union-attr]
    assert store.queue(job_id).after is Phase.QUEUED  # type: ignore[union-attr]  # RUN resumes
    assert store.abort(job_id).after is Phase.ABORTED  # type: ignore[union-attr]
    assert not store.queue(job_id).changed  # type: ignore[union-attr]
    assert not store.abort(job_id).changed  # type: ignore[union-attr]
    assert store.queue("missing") is None
    assert store.delete(job_id) and not store.delete(job_id)


def test_phase_changes_are_notified(store: JobStore, uws_settings: Settings) -> None:
    with psycopg.connect(libpq_conninfo(uws_settings), autocommit=True) as conn:
        conn.execute("LISTEN uws_phase")
        conn.execute("LISTEN uws_queue")
        job_id = add_job(store)
        store.queue(job_id)
        store.abort(job_id)
        store.delete(job_id)
        seen = [(n.channel, n.payload) for n in conn.notifies(timeout=2.0, stop_after=5)]
    assert seen == [("uws_phase", f"{job_id} PENDING"), ("uws_phase", f"{job_id} QUEUED"),
                    ("uws_queue", job_id), ("uws_phase", f"{job_id} ABORTED"), ("uws_phase", f"{job_id} DELETED")]


def test_a_worker_is_woken_on_its_own_channel(store: JobStore, uws_settings: Settings) -> None:
    """wake_worker reaches the control connection of that worker only (its stop() ends the wait with it)."""
    conn, worker_no = register(uws_settings)
    other, other_no = register(uws_settings)
    try:
        store.wake_worker(worker_no)
        assert [n.channel for n in conn.notifies(timeout=5.0, stop_after=1)] == [worker_channel(worker_no)]
        assert list(other.notifies(timeout=0.2)) == []
    finally:
        conn.close()
        other.close()
    assert worker_channel(worker_no) != worker_channel(other_no)


def test_jobs_of_dead_workers_fail(store: JobStore, uws_settings: Settings, tmp_path: Path) -> None:
    alive_conn, alive = register(uws_settings)
    dead_conn, dead = register(uws_settings)
    try:
        for worker_no in (alive, dead):
            add_job(store, queue=True)
            store.claim(worker_no)
        waiting = add_job(store, queue=True)
        dead_pid = dead_conn.info.backend_pid
        dead_conn.close()  # the session ends: its advisory lock goes with it
        wait_for_backend_exit(alive_conn, dead_pid)  # the server ends the session a moment after the client
        report = Reaper(store, FileResultsStore(tmp_path)).run_once()
        (failed,) = report.orphaned
        job = store.get(failed)
        assert job is not None and job.phase is Phase.ERROR and job.error_message == DEAD_WORKER_MESSAGE
        assert job.worker_no == dead
        assert store.get(waiting).phase is Phase.QUEUED  # type: ignore[union-attr]  # queued jobs wait
        executing = [j.job_id for j in store.list_jobs(None, JobFilter(phases=frozenset({Phase.EXECUTING})))]
        assert len(executing) == 1 and failed not in executing  # the live worker's job runs on
        assert Reaper(store, FileResultsStore(tmp_path)).run_once().orphaned == []
        with store.engine.connect() as conn:
            workers = conn.execute(text("SELECT worker_no FROM uws.worker")).scalars().all()
        assert dead not in workers and alive in workers
    finally:
        alive_conn.close()


def test_expired_jobs_are_destroyed_with_their_files(store: JobStore, tmp_path: Path) -> None:
    results = FileResultsStore(tmp_path)
    expired = [add_job(store, destruction_in=timedelta(seconds=-1)) for _ in range(3)]
    kept = add_job(store)
    for job_id in [*expired, kept]:
        with results.create(job_id, "result.vot") as writer:
            writer.write(b"data")
            writer.commit()
    destroyed = Reaper(store, results, batch=2).destroy_expired()
    assert sorted(destroyed) == sorted(expired)
    assert all(store.get(j) is None for j in expired) and store.get(kept) is not None
    assert sorted(results.job_ids()) == [kept]


def test_orphaned_files_are_removed(store: JobStore, tmp_path: Path) -> None:
    results = FileResultsStore(tmp_path)
    kept = add_job(store)
    for job_id in (kept, "gone1", "gone2"):
        with results.create(job_id, "result.vot") as writer:
            writer.commit()
    assert Reaper(store, results, orphan_min_age_s=3600).remove_orphaned_files() == 0  # too young
    assert Reaper(store, results, orphan_min_age_s=0).remove_orphaned_files() == 2
    assert list(results.job_ids()) == [kept]


def test_job_list_filters_and_order(store: JobStore, uws_admin: Engine) -> None:
    ids = [add_job(store) for _ in range(5)]
    mine = add_job(store, owner="alice")
    with uws_admin.begin() as conn:  # distinct creation times, oldest first
        for i, job_id in enumerate(ids):
            conn.execute(text("UPDATE uws.job SET creation_time = now() - make_interval(mins => :m) "
                              "WHERE job_id = :j"), {"m": 10 - i, "j": job_id})
    store.queue(ids[0])
    store.abort(ids[1])
    listed = [j.job_id for j in store.list_jobs(None, JobFilter())]
    assert listed == ids[::-1]  # newest first, only the caller's (anonymous) jobs
    assert [j.job_id for j in store.list_jobs("alice", JobFilter())] == [mine]
    assert [j.job_id for j in store.list_jobs(None, JobFilter(last=2))] == ids[:2:-1][:2]
    phases = frozenset({Phase.QUEUED, Phase.ABORTED})
    assert [j.job_id for j in store.list_jobs(None, JobFilter(phases=phases))] == [ids[1], ids[0]]
    job = store.get(ids[2])
    assert job is not None
    after = [j.job_id for j in store.list_jobs(None, JobFilter(after=job.creation_time))]
    assert after == [ids[4], ids[3]]
    with uws_admin.begin() as conn:
        conn.execute(text("UPDATE uws.job SET phase = 'ARCHIVED' WHERE job_id = :j"), {"j": ids[4]})
    assert ids[4] not in [j.job_id for j in store.list_jobs(None, JobFilter())]
    archived = store.list_jobs(None, JobFilter(phases=frozenset({Phase.ARCHIVED})))
    assert [j.job_id for j in archived] == [ids[4]]
