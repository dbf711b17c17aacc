"""One mapping from the database errors of user queries to DALI faults (tapserver.dali.dbfaults)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError

from tapserver.dali.dbfaults import fault_from_database
from tapserver.errors import DALIFault, FatalFault, TimeoutFault, TransientFault, UsageFault

pytestmark = pytest.mark.nodb

TIMEOUT = pg_errors.QueryCanceled("canceling statement due to statement timeout")


@pytest.mark.parametrize(("error", "sync", "fault", "words"), [
    (TIMEOUT, True, TimeoutFault, ("time limit of 60 s", "submit it as an asynchronous job (/tap/async)")),
    (TIMEOUT, False, TimeoutFault, ("time limit of 60 s",)),
    (pg_errors.QueryCanceled("canceling statement due to user request"), True, TransientFault, ("retry",)),
    (pg_errors.QueryCanceled("canceling statement due to conflict with recovery"), True, TransientFault,
     ("conflict with recovery",)),
    (psycopg.OperationalError("server closed the connection unexpectedly"), True, TransientFault,
     ("unavailable",)),
    (pg_errors.AdminShutdown("terminating connection due to administrator command"), True, TransientFault,
     ("unavailable",)),
    (pg_errors.DivisionByZero("division by zero"), True, UsageFault, ("division by zero",)),
    (pg_errors.UndefinedTable('relation "x" does not exist\nLINE 1: ...'), True, UsageFault,
     ('relation "x" does not exist',)),
    (pg_errors.UniqueViolation("duplicate key"), True, UsageFault, ("duplicate key",)),
    (pg_errors.InternalError_("unexpected"), True, FatalFault, ("query failed in the database",)),
])
def test_fault_from_database(error: psycopg.Error, sync: bool, fault: type[DALIFault], words: tuple[str, ...]) -> None:
    for raised in (error, DBAPIError("SELECT ...", None, error)):  # as psycopg and as SQLAlchemy raise it
        mapped = fault_from_database(raised, timeout_s=60, sync=sync)
        assert type(mapped) is fault
        assert all(word in mapped.message for word in words), mapped.message
        assert "\n" not in mapped.message
    if not sync:
        assert "/tap/async" not in fault_from_database(error, timeout_s=60, sync=False).message
