"""One mapping from the database errors of a user query to the DALI faults its client sees.

Used wherever a user query meets the database: before the first byte (the fault becomes the HTTP status of
a sync response or the error of a job) and after it (the writers close the document with it).
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError, OperationalError

from tapserver.errors import DALIFault, FatalFault, TimeoutFault, TransientFault, UsageFault

log = logging.getLogger("tapserver.query")

#: The advice a sync client gets when its query ran into the time limit.
ASYNC_ADVICE = "; submit it as an asynchronous job (/tap/async), which may run longer"


def _first_line(exc: BaseException) -> str:
    diag = getattr(exc, "diag", None)
    message = (diag.message_primary if diag is not None else None) or str(exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__


def fault_from_database(exc: BaseException, *, timeout_s: float | None = None, sync: bool = True) -> DALIFault:
    """The DALI fault for ``exc``, a psycopg error or SQLAlchemy's wrapper of one, raised by a user query
    (``sync``: a sync request, whose client is told to go async when the time limit stopped it)."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(orig, pg_errors.QueryCanceled):
        if "timeout" not in _first_line(orig):  # cancelled by an ABORT, an operator, or a standby's recovery
            return TransientFault(f"query cancelled: {_first_line(orig)}; please retry")
        limit = f" of {timeout_s:g} s" if timeout_s else ""
        return TimeoutFault(f"query cancelled: it ran longer than the time limit{limit}{ASYNC_ADVICE if sync else ''}")
    if isinstance(orig, psycopg.OperationalError | pg_errors.AdminShutdown) or isinstance(exc, OperationalError):
        return TransientFault("the archive database is unavailable; please retry later")
    if isinstance(orig, psycopg.DataError | psycopg.ProgrammingError | psycopg.IntegrityError):
        return UsageFault(f"query failed in the database: {_first_line(orig)}")
    log.error("database error while running a query: %s", orig)
    return FatalFault("query failed in the database")
