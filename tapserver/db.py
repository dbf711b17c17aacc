"""Database engines: the owner engine (migrations, ingest, jobs) and the read-only query engine."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from tapserver.config import Settings
from tapserver.errors import SetupError


@dataclass
class Engines:
    """The two engines of a process, built once (in the app lifespan or a CLI command)."""

    admin: Engine
    query: Engine

    def dispose(self) -> None:
        self.admin.dispose()
        self.query.dispose()


def make_engines(settings: Settings) -> Engines:
    """Create (lazily connecting) engines for the owner role and for the read-only query role."""
    common = {"pool_size": settings.pool_size, "max_overflow": settings.pool_size}
    admin = create_engine(settings.admin_url, **common)
    query = create_engine(
        settings.query_url,
        connect_args={"application_name": "tapserver-query"},
        **common,
    )
    for engine in (admin, query):
        ping_when_idle(engine)
    return Engines(admin=admin, query=query)


#: A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 2.0


def ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_S) -> None:
    """Pessimistic disconnect handling without a round trip per request: like ``pool_pre_ping``, a
    connection is tested (``SELECT 1``) when it is checked out, but only if it sat idle in the pool for
    more than ``idle_seconds``; a dead one is replaced by a new connection (the pool retries on
    DisconnectionError). A connection that was in use a moment ago is handed out as it is: under load,
    ``pool_pre_ping`` doubled the round trips of short requests (DataLink, TAP_SCHEMA). If the database
    restarts within that moment, the error of the next statement makes SQLAlchemy invalidate the pool.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["tapserver_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("tapserver_idle_since")
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"connection lost while idle: {exc}") from exc


def single_statement(engine: Engine) -> Connection:
    """A connection for one read-only statement, run outside a transaction block (autocommit): one round trip
    instead of three (BEGIN, the statement, ROLLBACK), and psycopg keeps the statements it prepared on the
    connection (a ROLLBACK clears them). The connection goes back to the pool in its default mode."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def describe_connection_error(exc: Exception, what: str) -> str:
    """One line saying why a connection failed, without the driver's traceback."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return f"cannot connect to {what}: {first}"


def check_connection(engine: Engine, what: str = "the database") -> None:
    """Raise SetupError with one clear line if the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        raise SetupError(describe_connection_error(exc, what)) from None


def limit_transaction(conn: Connection, *, timeout_s: float, read_only: bool = False) -> None:
    """Bound the transaction ``conn`` is in (it begins one if none is open): ``statement_timeout`` of
    ``timeout_s`` (at least 1 ms) and, when ``read_only``, ``SET TRANSACTION READ ONLY``."""
    if read_only:
        conn.execute(text("SET TRANSACTION READ ONLY"))
    conn.execute(text(f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}"))
