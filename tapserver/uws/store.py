"""The durable job store: the only module of tapserver.uws that speaks SQL.

Tables (migrations 0001 and 0004): ``uws.job`` (one row per job; also the queue), ``uws.result``,
``uws.inline_upload``, ``uws.phase_history`` (filled by a trigger, which also sends the NOTIFYs) and
``uws.worker`` (live workers, each holding the advisory lock ``(LOCK_CLASS, worker_no)``).

Every change that a worker makes to a job it runs is *fenced*: it names the job's ``attempt`` as it
was when the worker claimed it and only applies while the job is still EXECUTING with that attempt,
so a worker that was declared dead, or whose job was aborted, deleted or suspended meanwhile, can
never overwrite what happened since.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, text

from tapserver.uws.model import (
    ABORTABLE_PHASES,
    RUNNABLE_PHASES,
    SUSPENDABLE_PHASES,
    ClaimedJob,
    ErrorType,
    InlineUpload,
    Job,
    JobFilter,
    JobParameters,
    JobSummary,
    Phase,
    ResultInfo,
)

#: First key of the workers' advisory locks ("uws" in ASCII); the second key is the worker number.
LOCK_CLASS = 0x75777300
#: NOTIFY channels (see migration 0004).
PHASE_CHANNEL = "uws_phase"
QUEUE_CHANNEL = "uws_queue"


def worker_channel(worker_no: int) -> str:
    """The channel only worker ``worker_no``'s control connection LISTENs on (a NOTIFY there wakes it)."""
    return f"uws_worker_{worker_no}"


_JOB_COLUMNS = (
    "j.job_id, j.phase, j.owner_id, j.run_id, j.creation_time, j.start_time, j.end_time, "
    "j.destruction_time, j.execution_duration, j.quote, j.error_message, j.error_type, j.parameters, "
    "j.attempt, j.worker_no"
)

_GET_JOB = text(
    f"SELECT {_JOB_COLUMNS}, "
    "(SELECT coalesce(json_agg(json_build_array(r.result_id, r.location, r.mime_type, r.size_bytes, "
    "r.row_count) ORDER BY r.result_id <> 'result', r.result_id), '[]') FROM uws.result r "
    "WHERE r.job_id = j.job_id) AS results, "
    "(SELECT coalesce(json_agg(json_build_array(u.name, u.location, u.size_bytes) ORDER BY u.name), '[]') "
    "FROM uws.inline_upload u WHERE u.job_id = j.job_id) AS uploads "
    "FROM uws.job j WHERE j.job_id = :job_id"
)

# A dead worker: registered, but nobody holds its advisory lock (its session ended).
_LOCK_HELD = (
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    f"AND l.classid = {LOCK_CLASS} AND l.objsubid = 2 AND l.objid::bigint = {{worker}})"
)


def _params_json(params: JobParameters) -> str:
    return json.dumps([[name, value] for name, value in params.items()])


def _params_from_json(value: Any) -> JobParameters:
    if isinstance(value, dict):  # the 0001 default '{}'
        return JobParameters({k: v if isinstance(v, list) else [v] for k, v in value.items()})
    params = JobParameters()
    params.update((str(name), str(val)) for name, val in value or [])
    return params


def _job_from_row(row: Any) -> Job:
    m = row._mapping
    return Job(
        job_id=m["job_id"],
        phase=Phase(m["phase"]),
        owner_id=m["owner_id"],
        run_id=m["run_id"],
        creation_time=m["creation_time"],
        start_time=m["start_time"],
        end_time=m["end_time"],
        destruction_time=m["destruction_time"],
        execution_duration=m["execution_duration"],
        quote=m["quote"],
        error_message=m["error_message"],
        error_type=ErrorType(m["error_type"]) if m["error_type"] else None,
        parameters=_params_from_json(m["parameters"]),
        results=tuple(ResultInfo(*r) for r in m["results"]),
        uploads=tuple(InlineUpload(*u) for u in m["uploads"]),
        attempt=m["attempt"],
        worker_no=m["worker_no"],
    )


@dataclass(frozen=True)
class NewJob:
    """What creating a job stores."""

    job_id: str
    owner_id: str | None
    run_id: str | None
    parameters: JobParameters
    uploads: Sequence[InlineUpload]
    execution_duration: int
    destruction_time: datetime
    queue: bool


@dataclass(frozen=True)
class Transition:
    """The outcome of a phase request: the phase before and after (equal when nothing changed)."""

    before: Phase
    after: Phase

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class HistoryEntry:
    phase: Phase
    at: datetime
    worker_no: int | None
    attempt: int


class JobStore:
    """Job persistence on the owner engine. Thread-safe (each call takes a pooled connection)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- creation and reading ----------------------------------------------------------------------

    def create(self, job: NewJob) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO uws.job (job_id, run_id, owner_id, phase, destruction_time, "
                    "execution_duration, parameters, queued_at, quote) VALUES (:job_id, :run_id, :owner_id, "
                    ":phase, :destruction, :duration, CAST(:params AS jsonb), "
                    "CASE WHEN :queue THEN now() END, "
                    "CASE WHEN :queue AND :duration > 0 THEN now() + make_interval(secs => :duration) END)"
                ),
                {"job_id": job.job_id, "run_id": job.run_id, "owner_id": job.owner_id,
                 "phase": (Phase.QUEUED if job.queue else Phase.PENDING).value,
                 "destruction": job.destruction_time, "duration": job.execution_duration,
                 "params": _params_json(job.parameters), "queue": job.queue},
            )
            self._insert_uploads(conn, job.job_id, job.uploads)

    @staticmethod
    def _insert_uploads(conn: Connection, job_id: str, uploads: Sequence[InlineUpload]) -> None:
        for upload in uploads:
            conn.execute(
                text("INSERT INTO uws.inline_upload (job_id, name, location, size_bytes) "
                     "VALUES (:job_id, :name, :location, :size) ON CONFLICT (job_id, name) DO UPDATE "
                     "SET location = excluded.location, size_bytes = excluded.size_bytes"),
                {"job_id": job_id, "name": upload.name, "location": upload.location, "size": upload.size_bytes},
            )

    def get(self, job_id: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(_GET_JOB, {"job_id": job_id}).first()
        return _job_from_row(row) if row is not None else None

    def phase(self, job_id: str) -> tuple[Phase, str | None] | None:
        """The phase and owner of a job (cheaper than :meth:`get`), or None if it does not exist."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT phase, owner_id FROM uws.job WHERE job_id = :j"), {"j": job_id}).first()
        return (Phase(row[0]), row[1]) if row is not None else None

    def list_jobs(self, owner_id: str | None, job_filter: JobFilter) -> Iterator[JobSummary]:
        """The caller's jobs, newest first, streamed from a server-side cursor (never all in memory).

        Without a PHASE filter ARCHIVED jobs are left out (UWS §2.2.2.1).
        """
        # `owner_id IS NULL` / `= :owner` (not IS NOT DISTINCT FROM, which no index serves)
        clauses = ["owner_id IS NULL" if owner_id is None else "owner_id = :owner"]
        params: dict[str, Any] = {"owner": owner_id} if owner_id is not None else {}
        if job_filter.phases:
            clauses.append("phase = ANY(:phases)")
            params["phases"] = sorted(p.value for p in job_filter.phases)
        else:
            clauses.append("phase <> 'ARCHIVED'")
        if job_filter.after is not None:
            clauses.append("creation_time > :after")
            params["after"] = job_filter.after
        limit = ""
        if job_filter.last is not None:
            limit = " LIMIT :last"
            params["last"] = job_filter.last
        sql = text(
            "SELECT job_id, phase, run_id, owner_id, creation_time FROM uws.job WHERE "
            + " AND ".join(clauses)
            # owner_id first: the index order, which the planner cannot infer from `IS NULL`
            + " ORDER BY owner_id, creation_time DESC, job_id DESC" + limit
        )
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=1000).execute(sql, params)
            for row in result:
                yield JobSummary(row[0], Phase(row[1]), row[2], row[3], row[4])

    def history(self, job_id: str) -> list[HistoryEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT phase, at, worker_no, attempt FROM uws.phase_history WHERE job_id = :j ORDER BY seq"),
                {"j": job_id},
            ).all()
        return [HistoryEntry(Phase(r[0]), r[1], r[2], r[3]) for r in rows]

    # -- changes requested by clients --------------------------------------------------------------

    def update_pending(self, job_id: str, change: Callable[[JobParameters], JobParameters],
                       run_id: Callable[[JobParameters], str | None],
                       uploads: Sequence[InlineUpload] = ()) -> Phase | None:
        """Apply ``change`` to the parameters if the job is PENDING (row locked meanwhile).

        Returns the phase the job had (the change applied only if it is PENDING), None if no such job.
        """
        with self.engine.begin() as conn:
            row = conn.execute(
                text("SELECT phase, parameters FROM uws.job WHERE job_id = :j FOR UPDATE"), {"j": job_id}
            ).first()
            if row is None:
                return None
            phase = Phase(row[0])
            if phase is not Phase.PENDING:
                return phase
            params = change(_params_from_json(row[1]))
            conn.execute(
                text("UPDATE uws.job SET parameters = CAST(:p AS jsonb), run_id = :run_id WHERE job_id = :j"),
                {"p": _params_json(params), "run_id": run_id(params), "j": job_id},
            )
            self._insert_uploads(conn, job_id, uploads)
            return phase

    def _transition(self, job_id: str, allowed: Iterable[Phase], assignments: str,
                    params: dict[str, Any] | None = None) -> Transition | None:
        """Set ``assignments`` if the job's phase is in ``allowed``; report the phases before and after."""
        with self.engine.begin() as conn:
            row = conn.execute(
                text("SELECT phase FROM uws.job WHERE job_id = :j FOR UPDATE"), {"j": job_id}
            ).first()
            if row is None:
                return None
            before = Phase(row[0])
            if before not in set(allowed):
                return Transition(before, before)
            after = conn.execute(
                text(f"UPDATE uws.job SET {assignments} WHERE job_id = :j RETURNING phase"),
                {"j": job_id, **(params or {})},
            ).scalar_one()
            return Transition(before, Phase(after))

    def queue(self, job_id: str) -> Transition | None:
        """PHASE=RUN: PENDING/HELD/SUSPENDED -> QUEUED, with the quote (now + execution duration)."""
        return self._transition(
            job_id, RUNNABLE_PHASES,
            "phase = 'QUEUED', queued_at = now(), worker_no = NULL, "
            "quote = CASE WHEN execution_duration > 0 THEN now() + make_interval(secs => execution_duration) END",
        )

    def abort(self, job_id: str) -> Transition | None:
        """PHASE=ABORT: any phase not yet final -> ABORTED (the worker, notified, cancels its statement)."""
        return self._transition(job_id, ABORTABLE_PHASES, "phase = 'ABORTED', end_time = now()")

    def suspend(self, job_id: str) -> Transition | None:
        """PHASE=SUSPEND: QUEUED/EXECUTING -> SUSPENDED (a running statement is cancelled)."""
        return self._transition(job_id, SUSPENDABLE_PHASES, "phase = 'SUSPENDED', start_time = NULL")

    def set_execution_duration(self, job_id: str, seconds: int) -> Transition | None:
        return self._transition(job_id, {Phase.PENDING}, "execution_duration = :d", {"d": seconds})

    def set_destruction(self, job_id: str, when: datetime) -> bool:
        with self.engine.begin() as conn:
            found = conn.execute(
                text("UPDATE uws.job SET destruction_time = :t WHERE job_id = :j RETURNING 1"),
                {"t": when, "j": job_id},
            ).first()
        return found is not None

    def delete(self, job_id: str) -> bool:
        """Delete the job and its rows (results, uploads, history); True if it existed."""
        with self.engine.begin() as conn:
            found = conn.execute(text("DELETE FROM uws.job WHERE job_id = :j RETURNING 1"), {"j": job_id}).first()
        return found is not None

    # -- workers -----------------------------------------------------------------------------------

    @staticmethod
    def register_worker(conn: psycopg.Connection[Any], host: str, pid: int, concurrency: int) -> int:
        """Register a worker on its control connection (autocommit) and take its liveness lock.

        The row and the session lock become visible together (one transaction), so no sweeper can see
        the row without the lock. The connection also LISTENs on the worker's own channel
        (:meth:`wake_worker`).
        """
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                "INSERT INTO uws.worker (host, pid, concurrency) VALUES (%s, %s, %s) RETURNING worker_no",
                (host, pid, concurrency),
            )
            row = cur.fetchone()
            assert row is not None
            worker_no = int(row[0])
            cur.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, worker_no))
            cur.execute(f"LISTEN {worker_channel(worker_no)}")
        return worker_no

    def wake_worker(self, worker_no: int) -> None:
        """Wake the control connection of worker ``worker_no`` from its wait for notifications."""
        with self.engine.begin() as conn:
            conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": worker_channel(worker_no)})

    @staticmethod
    def unregister_worker(conn: psycopg.Connection[Any], worker_no: int) -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("DELETE FROM uws.worker WHERE worker_no = %s", (worker_no,))
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, worker_no))

    def claim(self, worker_no: int) -> ClaimedJob | None:
        """Take the oldest QUEUED job (skipping rows other workers are claiming) and mark it EXECUTING."""
        with self.engine.begin() as conn:
            row = conn.execute(
                text(
                    "UPDATE uws.job SET phase = 'EXECUTING', start_time = now(), end_time = NULL, "
                    "worker_no = :w, attempt = attempt + 1, error_message = NULL, error_type = NULL "
                    "WHERE job_id = (SELECT job_id FROM uws.job WHERE phase = 'QUEUED' "
                    "ORDER BY queued_at, job_id FOR UPDATE SKIP LOCKED LIMIT 1) AND phase = 'QUEUED' "
                    "RETURNING job_id, attempt, owner_id, run_id, execution_duration, parameters"
                ),
                {"w": worker_no},
            ).first()
            if row is None:
                return None
            uploads = conn.execute(
                text("SELECT name, location, size_bytes FROM uws.inline_upload WHERE job_id = :j ORDER BY name"),
                {"j": row[0]},
            ).all()
        return ClaimedJob(job_id=row[0], attempt=row[1], owner_id=row[2], run_id=row[3],
                          execution_duration=row[4], parameters=_params_from_json(row[5]),
                          uploads=tuple(InlineUpload(*u) for u in uploads))

    def complete(self, job_id: str, attempt: int, result: ResultInfo) -> bool:
        """EXECUTING -> COMPLETED with its result, if the job is still this attempt's (fenced)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                text("UPDATE uws.job SET phase = 'COMPLETED', end_time = now() "
                     "WHERE job_id = :j AND attempt = :a AND phase = 'EXECUTING' RETURNING 1"),
                {"j": job_id, "a": attempt},
            ).first()
            if done is None:
                return False
            conn.execute(
                text("INSERT INTO uws.result (job_id, result_id, location, mime_type, size_bytes, row_count) "
                     "VALUES (:j, :r, :loc, :mime, :size, :rows) ON CONFLICT (job_id, result_id) DO UPDATE "
                     "SET location = excluded.location, mime_type = excluded.mime_type, "
                     "size_bytes = excluded.size_bytes, row_count = excluded.row_count"),
                {"j": job_id, "r": result.result_id, "loc": result.location, "mime": result.mime_type,
                 "size": result.size_bytes, "rows": result.row_count},
            )
        return True

    def fail(self, job_id: str, attempt: int, message: str, error_type: ErrorType) -> bool:
        """EXECUTING -> ERROR with the message, if the job is still this attempt's (fenced)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                text("UPDATE uws.job SET phase = 'ERROR', end_time = now(), error_message = :m, error_type = :t "
                     "WHERE job_id = :j AND attempt = :a AND phase = 'EXECUTING' RETURNING 1"),
                {"j": job_id, "a": attempt, "m": message, "t": error_type.value},
            ).first()
        return done is not None

    def requeue(self, job_id: str, attempt: int) -> bool:
        """EXECUTING -> QUEUED again (a worker shutting down cleanly hands its unfinished job back)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                text("UPDATE uws.job SET phase = 'QUEUED', queued_at = now(), start_time = NULL, worker_no = NULL "
                     "WHERE job_id = :j AND attempt = :a AND phase = 'EXECUTING' RETURNING 1"),
                {"j": job_id, "a": attempt},
            ).first()
        return done is not None

    def still_running(self, job_id: str, attempt: int) -> bool:
        """Whether the job is still EXECUTING this attempt (the worker's fallback to missed NOTIFYs)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT 1 FROM uws.job WHERE job_id = :j AND attempt = :a AND phase = 'EXECUTING'"),
                {"j": job_id, "a": attempt},
            ).first()
        return row is not None

    # -- maintenance -------------------------------------------------------------------------------

    def fail_orphaned(self, message: str) -> list[str]:
        """Jobs EXECUTING on a worker whose session is gone -> ERROR; forget dead workers. Returns job ids."""
        with self.engine.begin() as conn:
            failed = conn.execute(
                text(
                    "UPDATE uws.job j SET phase = 'ERROR', end_time = now(), error_type = 'transient', "
                    "error_message = :m WHERE j.phase = 'EXECUTING' AND (j.worker_no IS NULL OR NOT "
                    + _LOCK_HELD.format(worker="j.worker_no") + ") RETURNING j.job_id"
                ),
                {"m": message},
            ).scalars().all()
            conn.execute(text("DELETE FROM uws.worker w WHERE NOT " + _LOCK_HELD.format(worker="w.worker_no")))
        return list(failed)

    def fail_overdue(self, grace_s: int, message: str) -> list[str]:
        """Jobs EXECUTING longer than their execution duration plus ``grace_s`` -> ERROR (a backstop:
        statement_timeout normally ends them first)."""
        with self.engine.begin() as conn:
            failed = conn.execute(
                text(
                    "UPDATE uws.job SET phase = 'ERROR', end_time = now(), error_type = 'fatal', "
                    "error_message = :m WHERE phase = 'EXECUTING' AND execution_duration > 0 AND start_time "
                    "+ make_interval(secs => execution_duration + :g) < now() RETURNING job_id"
                ),
                {"g": grace_s, "m": message},
            ).scalars().all()
        return list(failed)

    def delete_expired(self, limit: int) -> list[str]:
        """Delete up to ``limit`` jobs past their destruction time (rows other reapers hold are skipped);
        returns their ids so their files can be removed afterwards."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                text(
                    "WITH doomed AS (SELECT job_id FROM uws.job WHERE destruction_time <= now() "
                    "ORDER BY destruction_time LIMIT :n FOR UPDATE SKIP LOCKED) "
                    "DELETE FROM uws.job j USING doomed d WHERE j.job_id = d.job_id RETURNING j.job_id"
                ),
                {"n": limit},
            ).scalars().all()
        return list(rows)

    def existing(self, job_ids: Sequence[str]) -> set[str]:
        """Which of these job ids exist."""
        if not job_ids:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT job_id FROM uws.job WHERE job_id = ANY(:ids)"), {"ids": list(job_ids)}
            ).scalars().all()
        return set(rows)


def jobs_by_phase(conn: Connection) -> dict[str, int]:
    """The number of jobs in each phase (the phases that have jobs)."""
    rows = conn.execute(text("SELECT phase, count(*) AS n FROM uws.job GROUP BY phase ORDER BY phase"))
    return {str(r.phase): int(r.n) for r in rows}


def oldest_queued(conn: Connection) -> datetime | None:
    """When the job waiting longest in the queue was created (None: the queue is empty)."""
    oldest: datetime | None = conn.execute(
        text("SELECT min(creation_time) FROM uws.job WHERE phase = 'QUEUED'")).scalar_one()
    return oldest


_KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                               "keepalives_count": 3}


def control_connection(conninfo: str) -> psycopg.Connection[Any]:
    """A worker's control connection (autocommit), listening on the queue and phase channels. TCP
    keepalives run both ways: the server side also probes the worker, so a vanished host frees its
    advisory lock in about 25 s."""
    conn = psycopg.connect(conninfo, autocommit=True, application_name="tapserver-worker", **_KEEPALIVES)
    try:
        conn.execute("SET tcp_keepalives_idle = 10")
        conn.execute("SET tcp_keepalives_interval = 5")
        conn.execute("SET tcp_keepalives_count = 3")
        conn.execute(f"LISTEN {QUEUE_CHANNEL}")
        conn.execute(f"LISTEN {PHASE_CHANNEL}")
    except BaseException:
        conn.close()
        raise
    return conn


async def phase_listener(conninfo: str) -> psycopg.AsyncConnection[Any]:
    """An asynchronous connection (autocommit) listening on the phase channel."""
    conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True, application_name="tapserver-events",
                                                 **_KEEPALIVES)
    try:
        await conn.execute(f"LISTEN {PHASE_CHANNEL}")
    except BaseException:
        await conn.close()
        raise
    return conn
