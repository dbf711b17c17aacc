"""The TAP job runner: a claimed UWS job's parameters -> a query run -> the results store.

The job's query is a :class:`~tapserver.tap.run.QueryRun` like a sync query's (same uploads, translation,
read-only transaction as the reader role, writers) with ``statement_timeout`` = the job's execution
duration; the run hands its connection to the job's :class:`RunControl`, so that an ABORT can cancel its
statement.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import IO, Any

from sqlalchemy.exc import DBAPIError

from tapserver.config import Settings
from tapserver.dali.params import Params
from tapserver.dali.tapquery import parse_tap_query
from tapserver.errors import DALIFault, FatalFault, TransientFault
from tapserver.tap.query import QueryService
from tapserver.tap.run import QueryLog, QueryRun
from tapserver.uws.control import JobCancelled, RunControl
from tapserver.uws.model import RESULT_ID, ClaimedJob, ErrorType, Phase, ResultInfo
from tapserver.uws.results import ResultsStore
from tapserver.uws.store import JobStore

log = logging.getLogger("tapserver.uws.execution")  # the logger name operators filter on


def error_type_of(fault: DALIFault) -> ErrorType:
    return ErrorType.TRANSIENT if isinstance(fault, TransientFault) else ErrorType.FATAL


#: The runner of a job that is not a TAP query (the job, its run control -> its result), or None.
JobKinds = Callable[[ClaimedJob], Callable[[ClaimedJob, RunControl], ResultInfo] | None]


class JobRunner:
    """Runs claimed jobs to COMPLETED or ERROR. Thread-safe: one instance serves all worker threads.

    ``kinds`` recognises jobs of other kinds than TAP queries (GADF bundles) and gives their runner."""

    def __init__(self, settings: Settings, store: JobStore, results: ResultsStore, queries: QueryService,
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
        query_log = QueryLog(job.parameters.get("QUERY") or "", "async")
        try:
            result = self._execute(job, control, query_log)
        except JobCancelled:
            log.info("job %s stopped: aborted, suspended or deleted", job.job_id)
            self._ended_elsewhere(job, query_log)
            return
        except DALIFault as fault:
            if control.cancelled:
                self._ended_elsewhere(job, query_log)
                return
            message, kind = fault.message, error_type_of(fault)
            self._fail(job, query_log, message, kind)
            return
        except Exception as exc:
            if control.cancelled:  # e.g. the job's folder vanished with the job
                self._ended_elsewhere(job, query_log)
                return
            log.exception("job %s failed", job.job_id)
            internal = f"internal error while running the job ({type(exc).__name__})"
            self._fail(job, query_log, internal, ErrorType.FATAL)
            return
        if self._record(lambda: self.store.complete(job.job_id, job.attempt, result)):
            self._log_query(job, query_log, "OK", Phase.COMPLETED)
        else:
            # Aborted, suspended, deleted or declared dead meanwhile: the result is nobody's.
            self._ended_elsewhere(job, query_log)
            log.info("job %s finished but was no longer ours; result dropped", job.job_id)

    def _fail(self, job: ClaimedJob, query_log: QueryLog, message: str, kind: ErrorType) -> None:
        if self._record(lambda: self.store.fail(job.job_id, job.attempt, message, kind)):
            self._log_query(job, query_log, "ERROR", Phase.ERROR)
        else:
            self._ended_elsewhere(job, query_log)

    def _ended_elsewhere(self, job: ClaimedJob, query_log: QueryLog) -> None:
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
            self._log_query(job, query_log, "ABORTED", None)
        elif current[0] is Phase.ABORTED:
            self._log_query(job, query_log, "ABORTED", Phase.ABORTED)

    @staticmethod
    def _log_query(job: ClaimedJob, query_log: QueryLog, status: str, phase: Phase | None) -> None:
        try:
            query_log.write(status, job_id=job.job_id, user=job.owner_id,
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

    def _execute(self, job: ClaimedJob, control: RunControl, query_log: QueryLog) -> ResultInfo:
        other = self.kinds(job) if self.kinds is not None else None
        if other is not None:
            return other(job, control)
        request = parse_tap_query(Params(job.parameters.items()))
        query_log.adql = request.query
        timeout_s = float(job.execution_duration or self.settings.execution_duration)
        run = QueryRun(self.queries, request, open_part=self._stored_uploads(job), fetch=self.fetch,
                       timeout_s=timeout_s, sync=False, cancellation=control, log=query_log)
        try:
            first = run.start()
            name = f"{RESULT_ID}.{run.output.extension}"
            with self.results.create(job.job_id, name) as writer:
                writer.write(first)
                for chunk in run:
                    writer.write(chunk)
                control.check()
                if run.error is not None:
                    raise run.error
                location = writer.commit()
        finally:
            run.close()
        return ResultInfo(result_id=RESULT_ID, location=location, mime_type=run.output.content_type,
                          size_bytes=writer.size, row_count=run.rows)

    def _stored_uploads(self, job: ClaimedJob) -> Callable[[str], IO[bytes] | None]:
        """Opens the job's inline uploads (stored when the job was created) by their part names."""
        stored = {u.name: u for u in job.uploads}

        def open_part(part: str) -> IO[bytes] | None:
            upload = stored.get(part)
            if upload is None:
                return None
            try:
                return self.results.open(upload.location)
            except FileNotFoundError:
                raise FatalFault(f"the stored upload {part!r} of this job is missing") from None

        return open_part
