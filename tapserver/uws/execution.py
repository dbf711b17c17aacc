"""Running one claimed job: TAP parameters -> uploads -> the query service -> the results store.

The job's query runs exactly like a sync query (same translation, same read-only transaction as the
reader role, same writers) with ``statement_timeout`` = the job's execution duration, on a connection
the job owns for its whole run, so that an ABORT can cancel its statement (:class:`RunControl`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import IO, Any

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from tapserver.config import Settings
from tapserver.errors import DALIFault, FatalFault, TransientFault
from tapserver.observability import query_finished
from tapserver.tap.dbfaults import fault_from_database
from tapserver.tap.params import Params, TapQuery, parse_tap_query
from tapserver.tap.query import PreparedQuery, QueryService
from tapserver.tap.results import ResultStream, driver_connection
from tapserver.uploads import (
    UploadedTable,
    parse_upload_param,
    read_uploads,
    upload_limits,
    upload_tables,
)
from tapserver.uws.model import RESULT_ID, ClaimedJob, ErrorType, Phase, ResultInfo
from tapserver.uws.results import ResultsStore
from tapserver.uws.store import JobStore

log = logging.getLogger("tapserver.uws.execution")

#: How often PostgreSQL checks, while running a job's statement, that the worker is still connected
#: (a worker killed mid-query must not leave its statement running until the timeout).
CLIENT_CHECK_MS = 1000


class JobCancelled(Exception):
    """The job was aborted, suspended or deleted while it ran."""


class RunControl:
    """Lets another thread cancel a running job: sets a flag and cancels the statement in progress.

    The canceller calls :meth:`cancel` (repeatedly, until the run ends, to close the window between a
    check of the flag and the start of the next statement); the runner calls :meth:`check` between
    steps and :meth:`attach` / :meth:`detach` around its use of the query connection.
    """

    def __init__(self, job_id: str, attempt: int) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._conn: Any = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def attach(self, raw_connection: Any) -> None:
        with self._lock:
            self._conn = raw_connection
        self.check()

    def detach(self) -> None:
        with self._lock:
            self._conn = None

    def check(self) -> None:
        if self._cancelled.is_set():
            raise JobCancelled(self.job_id)

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            conn = self._conn
            if conn is not None:
                try:
                    conn.cancel_safe(timeout=2.0)
                except Exception as exc:  # the connection may be closing: the flag still stops the run
                    log.debug("cancelling job %s: %s", self.job_id, exc)


class JobQueryService(QueryService):
    """The sync query service, plus uploads and execution on a caller-owned connection."""

    def execute(self, conn: Connection, prepared: PreparedQuery, *, timeout_s: float,
                extra_info: Mapping[str, str] | None = None,
                uploads: Sequence[UploadedTable] = (), sync: bool = False) -> ResultStream:
        """As the sync service, and PostgreSQL stops the statement if the worker's connection dies."""
        stream = super().execute(conn, prepared, timeout_s=timeout_s, extra_info=extra_info, uploads=uploads,
                                 sync=sync)
        conn.execute(text(f"SET LOCAL client_connection_check_interval = {CLIENT_CHECK_MS}"))
        return stream


def error_type_of(fault: DALIFault) -> ErrorType:
    return ErrorType.TRANSIENT if isinstance(fault, TransientFault) else ErrorType.FATAL


@dataclass
class RunStats:
    """What the query log needs to know of one run: its ADQL, when it began, rows and bytes written."""

    adql: str
    started: float
    rows: int | None = None
    nbytes: int | None = None


#: The runner of a job that is not a TAP query (the job, its run control -> its result), or None.
JobKinds = Callable[[ClaimedJob], Callable[[ClaimedJob, "RunControl"], ResultInfo] | None]


class JobRunner:
    """Runs claimed jobs to COMPLETED or ERROR. Thread-safe: one instance serves all worker threads.

    ``kinds`` recognises jobs of other kinds than TAP queries (GADF bundles) and gives their runner."""

    def __init__(self, settings: Settings, store: JobStore, results: ResultsStore, queries: JobQueryService,
                 fetch: Any = None, kinds: JobKinds | None = None) -> None:
        self.settings = settings
        self.store = store
        self.results = results
        self.queries = queries
        self.fetch = fetch  # None: fetch_url within the configured URL policy (tests may replace it)
        self.kinds = kinds

    def run(self, job: ClaimedJob, control: RunControl) -> None:
        """Run the job and record the outcome (fenced: nothing is recorded if the job changed meanwhile).

        A run that ends the job (COMPLETED or ERROR recorded here, or stopped because the job was
        aborted or deleted) writes one ``tapserver.query`` line and counts in the query metrics (mode
        ``async``). A run handed back (suspended, worker stopping) does not: the job will run again. Jobs
        the maintenance declares ERROR (dead worker, overdue) are logged by the :mod:`~tapserver.uws.reaper`.
        """
        stats = RunStats(adql=job.parameters.get("QUERY") or "", started=time.monotonic())
        try:
            result = self._execute(job, control, stats)
        except JobCancelled:
            log.info("job %s stopped: aborted, suspended or deleted", job.job_id)
            self._ended_elsewhere(job, stats)
            return
        except DALIFault as fault:
            if control.cancelled:
                self._ended_elsewhere(job, stats)
                return
            message, kind = fault.message, error_type_of(fault)
            self._fail(job, stats, message, kind)
            return
        except Exception as exc:
            if control.cancelled:  # e.g. the job's folder vanished with the job
                self._ended_elsewhere(job, stats)
                return
            log.exception("job %s failed", job.job_id)
            internal = f"internal error while running the job ({type(exc).__name__})"
            self._fail(job, stats, internal, ErrorType.FATAL)
            return
        if self._record(lambda: self.store.complete(job.job_id, job.attempt, result)):
            self._log_query(job, stats, "OK", Phase.COMPLETED)
        else:
            # Aborted, suspended, deleted or declared dead meanwhile: the result is nobody's.
            self._ended_elsewhere(job, stats)
            log.info("job %s finished but was no longer ours; result dropped", job.job_id)

    def _fail(self, job: ClaimedJob, stats: RunStats, message: str, kind: ErrorType) -> None:
        if self._record(lambda: self.store.fail(job.job_id, job.attempt, message, kind)):
            self._log_query(job, stats, "ERROR", Phase.ERROR)
        else:
            self._ended_elsewhere(job, stats)

    def _ended_elsewhere(self, job: ClaimedJob, stats: RunStats) -> None:
        """The run was stopped, or could not record its outcome, because the job changed meanwhile.

        A deleted job's folder may have been removed before this run wrote into it: remove it again.
        An aborted or deleted job's query ends here: log it ABORTED. Otherwise (suspended or handed
        back: it runs again; declared ERROR by the maintenance, which logs it) write no query line.
        """
        try:
            current = self.store.phase(job.job_id)
        except Exception as exc:
            log.warning("cleaning up after job %s: %s", job.job_id, exc)
            return
        if current is None:
            try:
                self.results.delete_job(job.job_id)
            except Exception as exc:
                log.warning("cleaning up after job %s: %s", job.job_id, exc)
            self._log_query(job, stats, "ABORTED", None)
        elif current[0] is Phase.ABORTED:
            self._log_query(job, stats, "ABORTED", Phase.ABORTED)

    @staticmethod
    def _log_query(job: ClaimedJob, stats: RunStats, status: str, phase: Phase | None) -> None:
        try:
            query_finished(stats.adql, mode="async", status=status, duration_s=time.monotonic() - stats.started,
                           rows=stats.rows, nbytes=stats.nbytes, job_id=job.job_id, user=job.owner_id,
                           phase=phase.value if phase is not None else None)
        except Exception:  # the query log must never change a job's outcome
            log.exception("writing the query log line of job %s failed", job.job_id)

    @staticmethod
    def _record(action: Callable[[], bool], attempts: int = 5) -> bool:
        """Run a final bookkeeping update, retrying through short database outages."""
        delay = 0.2
        for attempt in range(attempts):
            try:
                return action()
            except DBAPIError as exc:
                if attempt == attempts - 1:
                    log.error("recording a job outcome failed: %s", exc)
                    return False
                time.sleep(delay)
                delay *= 2
        return False

    def _execute(self, job: ClaimedJob, control: RunControl, stats: RunStats) -> ResultInfo:
        other = self.kinds(job) if self.kinds is not None else None
        if other is not None:
            return other(job, control)
        request = parse_tap_query(Params(job.parameters.items()))
        stats.adql = request.query
        control.check()
        uploads = self._read_uploads(job, request)
        control.check()
        prepared = self.queries.prepare(request, upload_tables(uploads))
        timeout_s = float(job.execution_duration or self.settings.execution_duration)
        with ExitStack() as stack:
            try:
                conn = stack.enter_context(self.queries.engine.connect())
            except DBAPIError as exc:
                raise fault_from_database(exc, timeout_s=timeout_s, sync=False) from None
            control.attach(driver_connection(conn))
            stack.callback(control.detach)
            try:
                control.check()
                stream = self.queries.execute(conn, prepared, timeout_s=timeout_s, uploads=uploads)
            except (DBAPIError, psycopg.Error) as exc:
                raise fault_from_database(exc, timeout_s=timeout_s, sync=False) from None
            stack.callback(conn.rollback)
            return self._store_result(job, prepared, stream, control, stats)
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_uploads(self, job: ClaimedJob, request: TapQuery) -> list[UploadedTable]:
        refs = parse_upload_param(request.uploads)
        if not refs:
            return []
        stored = {u.name: u for u in job.uploads}

        def open_part(part: str) -> IO[bytes] | None:
            upload = stored.get(part)
            if upload is None:
                return None
            try:
                return self.results.open(upload.location)
            except FileNotFoundError:
                raise FatalFault(f"the stored upload {part!r} of this job is missing") from None

        limits = upload_limits(self.settings)
        return read_uploads(refs, open_part, limits, fetch=self.fetch)

    def _store_result(self, job: ClaimedJob, prepared: PreparedQuery, stream: ResultStream,
                      control: RunControl, stats: RunStats) -> ResultInfo:
        name = f"{RESULT_ID}.{prepared.output.extension}"
        with self.results.create(job.job_id, name) as writer:
            try:
                for chunk in stream:
                    writer.write(chunk)
            finally:
                stream.close()
                stats.rows, stats.nbytes = stream.rows, writer.size  # also of an interrupted run
            control.check()
            if stream.error is not None:
                raise stream.error
            location = writer.commit()
        return ResultInfo(result_id=RESULT_ID, location=location, mime_type=prepared.output.content_type,
                          size_bytes=writer.size, row_count=stream.rows)
