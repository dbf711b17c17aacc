"""The UWS rules (UWS 1.1 as used by TAP /async): creating jobs, phases, parameters, WAIT, results.

No HTTP here: handlers turn requests into calls of :class:`JobService` and its return values (or
DALI faults: UsageFault 400, PermissionFault 403 for illegal changes, NotFoundFault, PermissionFault 404) into
responses. ``owner`` is the caller's identity (None = anonymous). An authenticated caller lists and
uses only its own jobs. An anonymous job belongs to no one: its URL, with the unguessable job id, is the
capability that gives anonymous callers access to it, and the job list of an anonymous caller is empty
(listing the anonymous jobs would hand out those capabilities).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from anyio import to_thread

from tapserver.config import Settings
from tapserver.dali.params import check_runid
from tapserver.errors import NotFoundFault, PermissionFault, UsageFault
from tapserver.uploads import copy_stream, inline_part_names
from tapserver.uws.events import PhaseEvents
from tapserver.uws.model import (
    ACTIVE_PHASES,
    InlineUpload,
    Job,
    JobFilter,
    JobParameters,
    JobSummary,
    Phase,
    PhaseAction,
    ResultInfo,
    is_job_id,
    new_job_id,
    parse_instant,
    utcnow,
)
from tapserver.uws.results import ResultsStore, object_key
from tapserver.uws.store import JobStore, NewJob

#: Longest WAIT honoured (seconds); WAIT=-1 means this long.
MAX_WAIT_S = 60.0
#: Parameters that are job attributes, not job parameters.
_CONTROL = frozenset({"PHASE", "ACTION", "EXECUTIONDURATION", "DESTRUCTION"})
_MAX_PARAMETERS = 200
_MAX_PARAMETER_BYTES = 1_000_000
_UPLOAD_PREFIX = "upload-"
#: Largest LAST accepted: PostgreSQL's bigint, which LIMIT takes.
MAX_LAST = 2**63 - 1


@dataclass(frozen=True)
class JobResult:
    """A result to send: its record and, for local stores, the file path."""

    info: ResultInfo
    stream: IO[bytes]


def parse_job_filter(phases: Sequence[str], after: Sequence[str], last: Sequence[str]) -> JobFilter:
    """The job list filters from the query parameters (UsageFault for invalid values)."""
    try:
        wanted = frozenset(Phase.parse(p) for p in phases)
    except ValueError as exc:
        raise UsageFault(f"PHASE: {exc}") from None
    if len(after) > 1 or len(last) > 1:
        raise UsageFault("AFTER and LAST may be given at most once")
    after_time = None
    if after:
        try:
            after_time = parse_instant(after[0])
        except ValueError:
            raise UsageFault(f"AFTER must be an ISO 8601 instant from year 1 to 9999, such as 2024-01-31T12:00:00Z, "
                             f"not {after[0][:40]!r}") from None
    last_n = None
    if last:
        try:
            last_n = int(last[0])
        except ValueError:
            last_n = 0
        if not 0 < last_n <= MAX_LAST:
            raise UsageFault(f"LAST must be an integer from 1 to {MAX_LAST}, not {last[0][:40]!r}")
    return JobFilter(phases=wanted, after=after_time, last=last_n)


def parse_wait(value: str | None) -> float | None:
    """WAIT seconds (UWS 1.1 §2.2.1.1): -1 = as long as the server allows; capped at MAX_WAIT_S."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if math.isnan(seconds):
        raise UsageFault(f"WAIT must be a number of seconds, not {value[:40]!r}")
    if seconds < 0:
        return MAX_WAIT_S
    return min(seconds, MAX_WAIT_S)


class JobService:
    """UWS operations on the job store and the results store."""

    def __init__(self, settings: Settings, store: JobStore, results: ResultsStore,
                 events: PhaseEvents | None = None) -> None:
        self.settings = settings
        self.store = store
        self.results = results
        self.events = events

    # -- reading ------------------------------------------------------------------------------------

    def get(self, job_id: str, owner: str | None) -> Job:
        job = self.store.get(job_id) if is_job_id(job_id) else None
        if job is None:
            raise NotFoundFault(f"no job {job_id!r}")
        if job.owner_id != owner:
            raise PermissionFault(f"job {job_id!r} belongs to another user")
        return job

    def list_jobs(self, owner: str | None, job_filter: JobFilter) -> Iterator[JobSummary]:
        """The caller's jobs; none for an anonymous caller, who cannot prove which anonymous jobs it made."""
        if owner is None:
            return iter(())
        return self.store.list_jobs(owner, job_filter)

    async def wait(self, job_id: str, owner: str | None, wait_s: float, phase: Phase | None = None) -> Job:
        """The job, after blocking up to ``wait_s`` while it is PENDING, QUEUED or EXECUTING (and, with
        ``phase``, in that phase) until its phase changes (UWS 1.1 §2.2.1.1)."""
        if self.events is None:
            raise RuntimeError("WAIT needs the phase events listener")
        deadline = time.monotonic() + min(wait_s, MAX_WAIT_S)
        with self.events.subscribe(job_id) as changed:  # subscribe first: no change slips through
            job = await to_thread.run_sync(self.get, job_id, owner)
            start = job.phase
            if start not in ACTIVE_PHASES or (phase is not None and start != phase):
                return job
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return job
                try:
                    await asyncio.wait_for(changed.wait(), remaining)
                except TimeoutError:
                    return job
                changed.clear()
                job = await to_thread.run_sync(self.get, job_id, owner)
                if job.phase != start:
                    return job

    def error_document(self, job_id: str, owner: str | None) -> str:
        """The error message of a job in phase ERROR (NotFoundFault otherwise)."""
        job = self.get(job_id, owner)
        if job.phase is not Phase.ERROR or job.error_message is None:
            raise NotFoundFault(f"job {job_id} has no error (phase {job.phase.value})")
        return job.error_message

    def open_result(self, job_id: str, owner: str | None, result_id: str) -> JobResult:
        job = self.get(job_id, owner)
        info = job.result(result_id)
        if job.phase is not Phase.COMPLETED or info is None:
            raise NotFoundFault(f"job {job_id} has no result {result_id!r} (phase {job.phase.value})")
        try:
            return JobResult(info, self.results.open(info.location))
        except FileNotFoundError:
            raise NotFoundFault(f"the result of job {job_id} is no longer available") from None

    def open_upload(self, job_id: str, owner: str | None, name: str) -> IO[bytes]:
        job = self.get(job_id, owner)
        upload = job.upload(name)
        if upload is None:
            raise NotFoundFault(f"job {job_id} has no inline upload {name!r}")
        try:
            return self.results.open(upload.location)
        except FileNotFoundError:
            raise NotFoundFault(f"the upload {name!r} of job {job_id} is no longer available") from None

    # -- creating and changing ----------------------------------------------------------------------

    def create(self, items: Sequence[tuple[str, str]], parts: Mapping[str, IO[bytes]], owner: str | None) -> str:
        """Create a job from POSTed parameters (and multipart parts for inline uploads); PHASE=RUN
        queues it at once. Returns the job id. TAP parameters are checked when the job runs."""
        control, params = self._split(items)
        run = False
        for value in control.get("PHASE", []):
            if value.strip().upper() != PhaseAction.RUN.value:
                raise UsageFault(f"only PHASE=RUN may be given when creating a job, not PHASE={value}")
            run = True
        duration = self._execution_duration(control["EXECUTIONDURATION"][-1]) \
            if "EXECUTIONDURATION" in control else self.settings.execution_duration
        now = utcnow()
        destruction = self._destruction(control["DESTRUCTION"][-1], now) if "DESTRUCTION" in control \
            else now + timedelta(days=self.settings.retention_days)
        job_id = new_job_id()
        try:
            uploads = self._store_parts(job_id, params, parts)
            self.store.create(NewJob(job_id=job_id, owner_id=owner, run_id=self._run_id(params),
                                     parameters=params, uploads=uploads, execution_duration=duration,
                                     destruction_time=destruction, queue=run))
        except BaseException:
            self.results.delete_job(job_id)
            raise
        return job_id

    def update_parameters(self, job_id: str, owner: str | None, items: Sequence[tuple[str, str]],
                          parts: Mapping[str, IO[bytes]]) -> None:
        """POST to /parameters: only while PENDING (403 otherwise); multi-valued ones accumulate."""
        job = self.get(job_id, owner)
        self._require_pending(job.phase, "change parameters")
        control, posted = self._split(items)
        if control:
            raise UsageFault(f"{', '.join(sorted(control))} cannot be set through /parameters")
        uploads = self._store_parts(job_id, posted, parts)

        def change(params: JobParameters) -> JobParameters:
            params.update(posted.items())
            self._check_size(params)
            return params

        phase = self.store.update_pending(job_id, change, self._run_id, uploads)
        if phase is None:
            raise NotFoundFault(f"no job {job_id!r}")
        self._require_pending(phase, "change parameters")

    def change_phase(self, job_id: str, owner: str | None, value: str | None) -> None:
        """POST PHASE=RUN|ABORT|SUSPEND to /phase."""
        if value is None:
            raise UsageFault("missing parameter PHASE (RUN, ABORT or SUSPEND)")
        try:
            action = PhaseAction(value.strip().upper())
        except ValueError:
            raise UsageFault(f"PHASE must be RUN, ABORT or SUSPEND, not {value!r}") from None
        job = self.get(job_id, owner)
        if action is PhaseAction.RUN:
            # RUN on a job that is queued, running or finished leaves it alone (UWS leaves it open).
            self.store.queue(job_id)
            return
        if action is PhaseAction.ABORT:
            transition = self.store.abort(job_id)
            if transition is not None and not transition.changed and transition.before is not Phase.ABORTED:
                raise PermissionFault(f"job {job_id} cannot be aborted in phase {transition.before.value}")
            return
        transition = self.store.suspend(job_id)
        if transition is not None and not transition.changed and transition.before is not Phase.SUSPENDED:
            raise PermissionFault(f"job {job_id} cannot be suspended in phase {job.phase.value}: only queued "
                                  "or executing jobs can")

    def set_execution_duration(self, job_id: str, owner: str | None, value: str | None) -> None:
        if value is None:
            raise UsageFault("missing parameter EXECUTIONDURATION")
        seconds = self._execution_duration(value)
        self.get(job_id, owner)
        transition = self.store.set_execution_duration(job_id, seconds)
        if transition is None:
            raise NotFoundFault(f"no job {job_id!r}")
        self._require_pending(transition.before, "change the execution duration")

    def set_destruction(self, job_id: str, owner: str | None, value: str | None) -> None:
        if value is None:
            raise UsageFault("missing parameter DESTRUCTION")
        job = self.get(job_id, owner)
        if not self.store.set_destruction(job_id, self._destruction(value, job.creation_time)):
            raise NotFoundFault(f"no job {job_id!r}")

    def delete(self, job_id: str, owner: str | None) -> None:
        """Destroy the job: its rows (a running statement is cancelled by its worker, notified by the
        deletion), then its files."""
        self.get(job_id, owner)
        if not self.store.delete(job_id):
            raise NotFoundFault(f"no job {job_id!r}")
        self.results.delete_job(job_id)

    # -- helpers ------------------------------------------------------------------------------------

    @staticmethod
    def _require_pending(phase: Phase, what: str) -> None:
        if phase is not Phase.PENDING:
            raise PermissionFault(f"cannot {what} of a job in phase {phase.value}: only PENDING jobs can be changed")

    def _split(self, items: Sequence[tuple[str, str]]) -> tuple[dict[str, list[str]], JobParameters]:
        control: dict[str, list[str]] = {}
        params = JobParameters()
        rest = []
        for name, value in items:
            upper = name.upper()
            if upper in _CONTROL:
                control.setdefault(upper, []).append(value)
            else:
                rest.append((upper, value))
        params.update(rest)
        self._check_size(params)
        return control, params

    @staticmethod
    def _check_size(params: JobParameters) -> None:
        items = params.items()
        if len(items) > _MAX_PARAMETERS:
            raise UsageFault(f"a job may have at most {_MAX_PARAMETERS} parameters")
        if sum(len(n) + len(v) for n, v in items) > _MAX_PARAMETER_BYTES:
            raise UsageFault(f"a job's parameters may hold at most {_MAX_PARAMETER_BYTES} characters")

    @staticmethod
    def _run_id(params: JobParameters) -> str | None:
        return check_runid(params.get("RUNID"))

    def _execution_duration(self, value: str) -> int:
        """Seconds, clamped to the service's limit (0, "unlimited", becomes that limit)."""
        try:
            seconds = int(value.strip())
        except ValueError:
            raise UsageFault(f"EXECUTIONDURATION must be an integer number of seconds, not {value!r}") from None
        if seconds < 0:
            raise UsageFault("EXECUTIONDURATION must not be negative")
        limit = self.settings.execution_duration
        return limit if seconds == 0 else min(seconds, limit)

    def _destruction(self, value: str, created: datetime) -> datetime:
        """An instant, no later than the retention period allows."""
        try:
            when = parse_instant(value)
        except ValueError:
            raise UsageFault(f"DESTRUCTION must be an ISO 8601 instant from year 1 to 9999, such as "
                             f"2030-01-01T00:00:00Z, not {value[:40]!r}") from None
        return min(when, utcnow() + timedelta(days=self.settings.retention_days))

    def _store_parts(self, job_id: str, params: JobParameters,
                     parts: Mapping[str, IO[bytes]]) -> list[InlineUpload]:
        """Store the multipart parts that UPLOAD refers to, within the upload byte limit."""
        stored: list[InlineUpload] = []
        budget = self.settings.upload_limit_bytes
        lowered = {name.lower(): name for name in parts}
        for part in dict.fromkeys(inline_part_names(params.all("UPLOAD"))):
            name = part if part in parts else lowered.get(part.lower())
            if name is None:
                continue  # reported when the job runs, with the other UPLOAD problems
            try:
                object_key(job_id, _UPLOAD_PREFIX + part)
            except ValueError:
                raise UsageFault(f"invalid inline upload part name {part!r}") from None
            with self.results.create(job_id, _UPLOAD_PREFIX + part) as writer:
                size = copy_stream(parts[name], writer.write, budget, part)
                location = writer.commit()
            budget -= size
            stored.append(InlineUpload(part, location, size))
        return stored


__all__ = ["MAX_WAIT_S", "JobResult", "JobService", "parse_job_filter", "parse_wait"]
