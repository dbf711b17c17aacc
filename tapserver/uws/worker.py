"""Job workers: claim QUEUED jobs from PostgreSQL and run them, a bounded number at a time.

One :class:`Worker` per process (``tapserver worker``, or embedded in ``tapserver serve`` when
``Settings.workers > 0``) has:

* a control connection (psycopg, autocommit) that registers the worker in ``uws.worker``, holds its
  liveness advisory lock for as long as the process lives, and LISTENs on ``uws_queue`` (new work)
  and ``uws_phase`` (a job it runs was aborted, suspended or deleted: cancel its statement);
* ``concurrency`` slot threads that claim jobs (``FOR UPDATE SKIP LOCKED``: a job is claimed once)
  and run them with the :class:`JobRunner` it is given (TAP queries: :class:`tapserver.tap.jobs.JobRunner`);
* a maintenance thread: jobs of dead workers -> ERROR, overdue jobs -> ERROR, destroyed jobs and
  their files removed, orphaned files removed.

Liveness: a worker's session ends when its process dies (the kernel closes the socket) or, for a
lost host, when TCP keepalives fail; the advisory lock goes with it and any worker's maintenance
marks the dead worker's EXECUTING jobs ERROR. Such jobs are not retried: a query that killed its
worker would kill the next one too. A worker stopping cleanly gives its unfinished jobs back
(QUEUED) after a grace period.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

from tapserver.config import Settings
from tapserver.uws.control import RunControl
from tapserver.uws.model import ClaimedJob, Phase
from tapserver.uws.reaper import Reaper
from tapserver.uws.store import PHASE_CHANNEL, QUEUE_CHANNEL, JobStore, control_connection

log = logging.getLogger("tapserver.uws.worker")


class JobRunner(Protocol):
    """Runs one claimed job to its end and records the outcome (fenced by the job's attempt)."""

    def run(self, job: ClaimedJob, control: RunControl) -> None: ...


def libpq_conninfo(settings: Settings) -> str:
    """The owner connection as a libpq URI (for psycopg connections made outside SQLAlchemy)."""
    return settings.admin_url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int
    #: Slots look for queued jobs at least this often even without a NOTIFY (missed notifications).
    poll_interval: float = 5.0
    #: Seconds between maintenance passes (dead workers, overdue and expired jobs, orphaned files).
    maintenance_interval: float = 15.0
    #: On a clean stop, running jobs get this long to finish before they are handed back (QUEUED).
    shutdown_grace: float = 10.0
    #: Grace beyond a job's execution duration before maintenance declares it overdue.
    overdue_grace_s: int = 60


class Worker:
    """Claims and runs jobs in threads until :meth:`stop`."""

    def __init__(self, settings: Settings, store: JobStore, runner: JobRunner, reaper: Reaper,
                 options: WorkerOptions) -> None:
        """Made by :meth:`tapserver.factory.Factory.create_worker` (store, runner and reaper share its
        engines and results store)."""
        if options.concurrency < 1:
            raise ValueError("a worker needs a concurrency of at least 1")
        self.settings = settings
        self.options = options
        self.store = store
        self.runner = runner
        self.reaper = reaper
        self.worker_no: int | None = None
        self._conninfo = libpq_conninfo(settings)
        self._stopping = threading.Event()  # no more claims
        self._closing = threading.Event()  # the control connection (and the liveness lock) may go
        self._registered = threading.Event()
        self._wake = threading.Condition()
        self._wakeups = 0
        self._running: dict[str, RunControl] = {}
        self._running_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._control = threading.Thread(target=self._control_loop, name="uws-control", daemon=True)

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        threads = [threading.Thread(target=self._maintenance_loop, name="uws-maintenance", daemon=True)]
        threads += [threading.Thread(target=self._slot_loop, name=f"uws-slot-{i}", daemon=True)
                    for i in range(self.options.concurrency)]
        self._threads = threads
        self._control.start()
        for thread in threads:
            thread.start()

    def wait_registered(self, timeout: float) -> bool:
        return self._registered.wait(timeout)

    def stop(self) -> None:
        """Stop claiming; let running jobs finish for ``shutdown_grace`` s, then hand them back."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + self.options.shutdown_grace
        while self.running_jobs() and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._running_lock:
            unfinished = list(self._running.values())
        for control in unfinished:
            try:
                if self.store.requeue(control.job_id, control.attempt):
                    log.info("job %s handed back to the queue (worker stopping)", control.job_id)
            except Exception as exc:
                log.warning("handing job %s back failed: %s", control.job_id, exc)
            control.cancel()
        for thread in self._threads:
            thread.join(timeout=10.0)
        # Only now may the liveness lock go: until here our jobs must not look orphaned.
        self._closing.set()
        worker_no = self.worker_no
        if worker_no is not None:  # the control loop waits up to a second for notifications: end the wait
            try:
                self.store.wake_worker(worker_no)
            except Exception as exc:  # it notices _closing at the end of its wait
                log.debug("waking the control connection of worker %d: %s", worker_no, exc)
        self._control.join(timeout=5.0)

    def running_jobs(self) -> list[str]:
        with self._running_lock:
            return list(self._running)

    # -- control connection: registration, liveness lock, notifications ----------------------------

    def _control_loop(self) -> None:
        backoff = 0.5
        while not self._closing.is_set():
            try:
                with control_connection(self._conninfo) as conn:
                    self.worker_no = self.store.register_worker(conn, socket.gethostname(), os.getpid(),
                                                                self.options.concurrency)
                    log.info("worker %d registered (%d slots)", self.worker_no, self.options.concurrency)
                    self._registered.set()
                    backoff = 0.5
                    self._wake_slots(self.options.concurrency)
                    self._listen(conn)
                    self._unregister(conn)
                    return
            except psycopg.Error as exc:
                if self._closing.is_set():
                    break
                log.warning("worker control connection lost (%s); retrying in %.1f s", exc, backoff)
            # Without the lock our running jobs are (or will be) declared dead: stop them.
            self.worker_no = None
            self._registered.clear()
            self._cancel_all()
            self._closing.wait(backoff)
            backoff = min(backoff * 2, 10.0)

    def _unregister(self, conn: psycopg.Connection[Any]) -> None:
        if self.worker_no is None:
            return
        with suppress(psycopg.Error):
            self.store.unregister_worker(conn, self.worker_no)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        next_check = time.monotonic() + self.options.poll_interval
        while not self._closing.is_set():
            timeout = 0.2 if self._has_cancelled() else 1.0
            for notify in conn.notifies(timeout=timeout, stop_after=200):
                self._on_notify(notify.channel, notify.payload)
                if self._closing.is_set():  # woken by stop()
                    break
            self._recancel()
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + self.options.poll_interval
                self._check_running()
                self._wake_slots(self.options.concurrency)  # a missed NOTIFY costs at most poll_interval

    def _on_notify(self, channel: str, payload: str) -> None:
        if channel == QUEUE_CHANNEL:
            self._wake_slots(1)
            return
        if channel != PHASE_CHANNEL:  # our own channel: woken to look at _closing
            return
        job_id, _, phase = payload.partition(" ")
        if phase == Phase.EXECUTING.value:
            return
        with self._running_lock:
            control = self._running.get(job_id)
        if control is None or control.cancelled:
            return
        # The payload may be stale: the QUEUED of PHASE=RUN can arrive after a slot has claimed the job
        # (NOTIFYs are read in batches), and cancelling on it left the job EXECUTING with nothing running
        # it (found by bench/load.py). The row says whether this attempt is still meant to run.
        try:
            if self.store.still_running(job_id, control.attempt):
                return
        except Exception as exc:  # the periodic _check_running decides later
            log.warning("checking job %s: %s", job_id, exc)
            return
        log.info("job %s is now %s: cancelling its statement", job_id, phase)
        control.cancel()

    def _has_cancelled(self) -> bool:
        with self._running_lock:
            return any(c.cancelled for c in self._running.values())

    def _recancel(self) -> None:
        """Cancel again until the run ends: closes the gap between a flag check and the next statement."""
        with self._running_lock:
            cancelled = [c for c in self._running.values() if c.cancelled]
        for control in cancelled:
            control.cancel()

    def _check_running(self) -> None:
        """Fallback for missed notifications: stop runs whose job is no longer EXECUTING this attempt."""
        with self._running_lock:
            controls = [c for c in self._running.values() if not c.cancelled]
        for control in controls:
            try:
                if not self.store.still_running(control.job_id, control.attempt):
                    control.cancel()
            except Exception as exc:
                log.warning("checking job %s: %s", control.job_id, exc)

    def _cancel_all(self) -> None:
        with self._running_lock:
            controls = list(self._running.values())
        for control in controls:
            control.cancel()

    # -- slots --------------------------------------------------------------------------------------

    def _wake_slots(self, n: int) -> None:
        with self._wake:
            self._wakeups = min(self._wakeups + n, self.options.concurrency)
            self._wake.notify(n)

    def _slot_loop(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                if self._wakeups == 0:
                    self._wake.wait(self.options.poll_interval)
                if self._wakeups > 0:
                    self._wakeups -= 1
            try:
                self._drain()
            except Exception:  # a slot never dies: log, pause, go on
                log.exception("job slot failed")
                self._stopping.wait(1.0)

    def _drain(self) -> None:
        """Claim and run jobs until the queue is empty (or we stop / lose our registration)."""
        while not self._stopping.is_set():
            worker_no = self.worker_no
            if worker_no is None:
                return
            try:
                job = self.store.claim(worker_no)
            except Exception as exc:
                log.warning("claiming a job failed: %s", exc)
                self._stopping.wait(1.0)
                return
            if job is None:
                return
            control = RunControl(job.job_id, job.attempt)
            with self._running_lock:
                self._running[job.job_id] = control
            try:
                self.runner.run(job, control)
            finally:
                with self._running_lock:
                    self._running.pop(job.job_id, None)

    # -- maintenance --------------------------------------------------------------------------------

    def _maintenance_loop(self) -> None:
        self._registered.wait(30.0)
        while not self._stopping.is_set():
            try:
                self.reaper.run_once()
            except Exception:
                log.exception("UWS maintenance failed")
            self._stopping.wait(self.options.maintenance_interval)


def run_until_signalled(worker: Worker) -> None:
    """``tapserver worker``: start the worker, run jobs until SIGTERM/SIGINT, then stop it."""
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    worker.start()
    log.info("tapserver worker running %d job slot(s); stop with Ctrl-C or SIGTERM", worker.options.concurrency)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        worker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
