"""UWS housekeeping, run by every worker (safe to run concurrently: rows are claimed with SKIP LOCKED).

* jobs EXECUTING on a worker whose session is gone -> ERROR (the worker died; not retried);
* jobs EXECUTING past their execution duration plus a grace -> ERROR (a backstop: statement_timeout
  normally ends them);
* jobs past their destruction time -> deleted, with their files;
* files whose job no longer exists (a process died between deleting the row and the files) -> deleted.

The jobs it marks ERROR get their ``tapserver.query`` line (and query metrics) here: no runner will.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from tapserver.observability import query_finished
from tapserver.uws.results import ResultsStore
from tapserver.uws.store import JobStore

log = logging.getLogger("tapserver.uws.reaper")

DEAD_WORKER_MESSAGE = (
    "the worker running this job stopped unexpectedly (its process ended or lost its database "
    "connection); the job was not retried: submit it again"
)
OVERDUE_MESSAGE = "the job ran longer than its execution duration and was stopped"


@dataclass
class ReaperReport:
    orphaned: list[str]
    overdue: list[str]
    destroyed: list[str]
    files_removed: int


class Reaper:
    def __init__(self, store: JobStore, results: ResultsStore, *, overdue_grace_s: int = 60,
                 batch: int = 500, orphan_files_every_s: float = 3600.0, orphan_min_age_s: float = 3600.0) -> None:
        self.store = store
        self.results = results
        self.overdue_grace_s = overdue_grace_s
        self.batch = batch
        self.orphan_files_every_s = orphan_files_every_s
        self.orphan_min_age_s = orphan_min_age_s
        self._last_file_sweep: float | None = None

    def run_once(self) -> ReaperReport:
        orphaned = self.store.fail_orphaned(DEAD_WORKER_MESSAGE)
        if orphaned:
            log.warning("jobs of dead workers marked ERROR: %s", ", ".join(orphaned))
        overdue = self.store.fail_overdue(self.overdue_grace_s, OVERDUE_MESSAGE)
        if overdue:
            log.warning("overdue jobs marked ERROR: %s", ", ".join(overdue))
        self.log_queries(orphaned + overdue)
        destroyed = self.destroy_expired()
        files = 0
        now = time.monotonic()
        if self._last_file_sweep is None or now - self._last_file_sweep >= self.orphan_files_every_s:
            self._last_file_sweep = now
            files = self.remove_orphaned_files()
        return ReaperReport(orphaned, overdue, destroyed, files)

    def log_queries(self, job_ids: list[str]) -> None:
        """One ERROR query-log line per job this maintenance ended (duration: start to end time)."""
        for job_id in job_ids:
            try:
                job = self.store.get(job_id)
                if job is None:
                    continue
                duration = ((job.end_time - job.start_time).total_seconds()
                            if job.end_time is not None and job.start_time is not None else 0.0)
                query_finished(job.parameters.get("QUERY") or "", mode="async", status="ERROR",
                               duration_s=max(0.0, duration), rows=None, job_id=job.job_id, user=job.owner_id,
                               phase=job.phase.value)
            except Exception as exc:
                log.warning("query log line of job %s: %s", job_id, exc)

    def destroy_expired(self) -> list[str]:
        """Delete every job past its destruction time (rows first, then files)."""
        destroyed: list[str] = []
        while True:
            batch = self.store.delete_expired(self.batch)
            for job_id in batch:
                self.results.delete_job(job_id)
            destroyed += batch
            if len(batch) < self.batch:
                break
        if destroyed:
            log.info("destroyed %d expired job(s)", len(destroyed))
        return destroyed

    def remove_orphaned_files(self) -> int:
        """Remove the files of jobs that no longer exist (only folders older than ``orphan_min_age_s``:
        a job's inline uploads are written just before its row is committed)."""
        removed = 0
        pending: list[str] = []

        def flush() -> int:
            existing = self.store.existing(pending)
            gone = [job_id for job_id in pending if job_id not in existing]
            for job_id in gone:
                self.results.delete_job(job_id)
            pending.clear()
            return len(gone)

        for job_id in self.results.job_ids(older_than_s=self.orphan_min_age_s):
            pending.append(job_id)
            if len(pending) >= self.batch:
                removed += flush()
        if pending:
            removed += flush()
        if removed:
            log.info("removed the files of %d job(s) that no longer exist", removed)
        return removed
