"""Cancelling a running job from another thread (ABORT, DELETE, SUSPEND, a stopping worker)."""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("tapserver.uws.execution")


class JobCancelled(Exception):
    """The job was aborted, suspended or deleted while it ran."""


class RunControl:
    """Lets another thread cancel a running job: sets a flag and cancels the statement in progress.

    The canceller calls :meth:`cancel` (repeatedly, until the run ends, to close the window between a
    check of the flag and the start of the next statement); the job's query run calls :meth:`check`
    between steps and :meth:`attach` / :meth:`detach` around its use of the query connection (it is
    the run's :class:`~tapserver.tap.run.Cancellation`).
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
