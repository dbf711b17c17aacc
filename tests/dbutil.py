"""Throwaway databases for tests: created on the server of TAPSERVER_DATABASE_URL and dropped afterwards.

Migrating a database (`tapserver db upgrade`) takes seconds; copying one takes a fraction of that. So the
session migrates one template database once, and every test that wants a migrated database gets a copy
(``CREATE DATABASE ... TEMPLATE``) holding the same schema, TAP_SCHEMA, Alembic revision and grants.
Databases are dropped by a background thread (a DROP DATABASE waits for a checkpoint of the whole server,
seconds on a busy one; the drops pending together share one); :func:`finish` drops the template with them at
the end of the session and waits.

Connections are pooled: a backend start costs the server about as much CPU as a short test's queries, so the
CREATE/DROP DATABASE statements of a process share a few connections to the maintenance database, and
:func:`engine_for` keeps a few connections per engine, each reset to a new session's state when it goes back
to the pool (:func:`reset_session`).
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url

_counter = itertools.count()
_template: str | None = None
_template_owned = False
_template_lock = threading.Lock()
_forbidden: str | None = None


def server_url() -> URL:
    """The PostgreSQL server the tests use (the database part is replaced per test database)."""
    raw = os.environ.get("TAPSERVER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return make_url(raw).set(drivername="postgresql+psycopg")


#: What DISCARD ALL does but DEALLOCATE ALL and DISCARD PLANS: psycopg keeps track of the statements it prepared
#: itself, and misses a DISCARD ALL sent again on a connection (it then uses a statement no longer there).
RESET_SESSION = ("CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; "
                 "SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES")


def reset_session(dbapi_connection: Any) -> None:
    """Roll back a psycopg connection's transaction and reset its session (settings, role, cursors, temporary
    tables, session locks, LISTENs) to what a new connection has, in one round trip."""
    dbapi_connection.rollback()
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute(RESET_SESSION)
    finally:
        dbapi_connection.autocommit = autocommit


def _discard_on_return(engine: Engine) -> Engine:
    """Make a connection that goes back to ``engine``'s pool like a new one (:func:`reset_session`), so that
    nothing a test left in a session reaches the next user of the connection."""

    @event.listens_for(engine, "reset")
    def _reset(dbapi_connection: Any, _record: Any, reset_state: Any) -> None:
        if reset_state.terminate_only:
            dbapi_connection.rollback()
        else:
            reset_session(dbapi_connection)

    return engine


def pooled_engine(url: URL | str, *, pool_size: int = 2, **kwargs: Any) -> Engine:
    """An engine keeping up to ``pool_size`` idle connections (more may be open at once), each reset when it goes
    back to the pool (see :func:`_discard_on_return`). Dispose of it when done."""
    return _discard_on_return(create_engine(url, pool_size=pool_size, max_overflow=10, pool_reset_on_return=None,
                                            **kwargs))


# The maintenance engine of each (process, server): a forked child makes its own instead of using its parent's.
_maintenance_engines: dict[tuple[int, str], Engine] = {}
_maintenance_engines_lock = threading.Lock()


def _maintenance_engine(server: URL | None = None) -> Engine:
    url = (server or server_url()).set(database="postgres")
    key = (os.getpid(), url.render_as_string(hide_password=False))
    with _maintenance_engines_lock:
        engine = _maintenance_engines.get(key)
        if engine is None:
            # pool_pre_ping: a connection that the server closed meanwhile is replaced, not handed out.
            engine = pooled_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
            _maintenance_engines[key] = engine
        return engine


def _dispose_maintenance_engines() -> None:
    with _maintenance_engines_lock:
        for (pid, _url), engine in list(_maintenance_engines.items()):
            if pid == os.getpid():
                engine.dispose()
                del _maintenance_engines[(pid, _url)]


@contextmanager
def _maintenance(server: URL | None = None) -> Iterator[Connection]:
    with _maintenance_engine(server).connect() as conn:
        yield conn


def _drop_now(name: str, server: URL | None = None) -> None:
    with _maintenance(server) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class _Dropper:
    """Drops databases in a thread of its own. Each DROP DATABASE waits for a checkpoint of the whole server, so
    the drops handed over while one is under way are sent together, each on a connection of its own (at most
    ``BATCH``): they wait for the same checkpoint, not for one each in turn."""

    BATCH = 8

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, URL]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._errors: list[str] = []

    def drop(self, name: str) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
            self._thread.start()
        self._queue.put((name, server_url()))

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            others = [threading.Thread(target=self._drop, args=item, name="drop-database") for item in batch[1:]]
            for thread in others:
                thread.start()
            self._drop(*batch[0])
            for thread in others:
                thread.join()

    def _drop(self, name: str, server: URL) -> None:
        try:
            _drop_now(name, server)
        except Exception as exc:  # reported by wait(); a failed drop must not stop the others
            self._errors.append(f"{name}: {exc}")
        finally:
            self._queue.task_done()

    def wait(self) -> list[str]:
        """Block until every database handed over is dropped; the drops that failed."""
        self._queue.join()
        errors, self._errors = self._errors, []
        return errors


_dropper = _Dropper()
# A process that never calls finish() (a benchmark script) still drops its databases before it exits: atexit
# handlers run while the daemon drop thread is alive (and last in, first run: the drops before the disposal).
atexit.register(_dispose_maintenance_engines)
atexit.register(_dropper.wait)


def _check_allowed() -> None:
    if _forbidden:
        raise RuntimeError(f"{_forbidden} is marked nodb but asks for a database")


def _create(name: str, template: str | None = None) -> None:
    _check_allowed()
    with _maintenance() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))


def _unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


@contextmanager
def throwaway_database(prefix: str = "tapserver_test") -> Iterator[URL]:
    """Create an empty database with a unique name, yield its URL, drop it (even if connections remain)."""
    name = _unique(prefix)
    _create(name)
    try:
        yield server_url().set(database=name)
    finally:
        _dropper.drop(name)


#: Set by the controller of a pytest-xdist run for its workers: the name of a template they share, migrated by
#: the first worker that needs it (the others wait for it) and dropped by the controller at the end.
SHARED_TEMPLATE = "TAPSERVER_TEST_SHARED_TEMPLATE"


def _new_template() -> str:
    """An empty database of a new name brought up to date by `tapserver db upgrade` (with the settings of the
    environment)."""
    from tapserver.config import load_settings
    from tapserver.migrate import upgrade

    name = _unique("tapserver_template")
    _create(name)
    try:
        upgrade(load_settings(database_url=server_url().set(database=name).render_as_string(hide_password=False)))
    except BaseException:
        _drop_now(name)
        raise
    return name


def _shared_template(name: str) -> str:
    """The template ``name``, made (migrated under a name of its own, then renamed: never seen half-made) by
    whichever process asks first; a session lock on the name keeps the others waiting meanwhile."""
    _check_allowed()
    with _maintenance() as conn:
        conn.execute(text("SELECT pg_advisory_lock(hashtextextended(:name, 0))"), {"name": name})
        try:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first() is None:
                made = _new_template()
                conn.execute(text(f'ALTER DATABASE "{made}" RENAME TO "{name}"'))
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))"), {"name": name})
    return name


def template_database() -> str:
    """The name of this session's template: an empty database brought up to date by `tapserver db upgrade`
    (with the settings of the environment) on first use, dropped by :func:`finish` (or, shared by the workers
    of a pytest-xdist run, by :func:`drop_shared_template` in the controller)."""
    global _template, _template_owned
    with _template_lock:
        if _template is None:
            shared = os.environ.get(SHARED_TEMPLATE)
            _template = _shared_template(shared) if shared else _new_template()
            _template_owned = not shared
        return _template


def drop_shared_template() -> None:
    """Drop the template that the workers of this run shared (if one of them made it)."""
    name = os.environ.get(SHARED_TEMPLATE)
    if name:
        _drop_now(name)
    _dispose_maintenance_engines()


def _copy_database_settings(conn: Connection, source: str, target: str) -> None:
    """Give ``target`` the per-database role settings of ``source`` (ALTER ROLE ... IN DATABASE ... SET):
    PostgreSQL keeps them outside the database, so a copy does not inherit them."""
    rows = conn.execute(text(
        "SELECT r.rolname, unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
        "JOIN pg_roles r ON r.oid = s.setrole WHERE d.datname = :source"), {"source": source}).all()
    for role, config in rows:
        name, value = config.split("=", 1)
        quoted_role, quoted_db, quoted_value = conn.exec_driver_sql(
            "SELECT quote_ident(%s), quote_ident(%s), quote_literal(%s)", (role, target, value)).one()
        conn.exec_driver_sql(f"ALTER ROLE {quoted_role} IN DATABASE {quoted_db} SET {name} = {quoted_value}")


@contextmanager
def migrated_database(prefix: str = "tapserver_test") -> Iterator[URL]:
    """As :func:`throwaway_database`, but a copy of the migrated template: `tapserver db upgrade` with the
    environment's settings has nothing left to do in it."""
    _check_allowed()
    template = template_database()
    name = _unique(prefix)
    try:
        with _maintenance() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
            _copy_database_settings(conn, template, name)
        yield server_url().set(database=name)
    finally:
        _dropper.drop(name)


def finish() -> list[str]:
    """Drop the template together with the pending drops and wait for them all; the drops that failed."""
    global _template
    with _template_lock:
        if _template is not None:
            if _template_owned:
                _dropper.drop(_template)
            _template = None
    errors = _dropper.wait()
    _dispose_maintenance_engines()
    return errors


@contextmanager
def engine_for(url: URL) -> Iterator[Engine]:
    """A pooled engine (:func:`pooled_engine`: a test's connection is reset, not closed, when it is given back),
    disposed after."""
    engine = pooled_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
