"""Throwaway databases for tests: created on the server of TAPSERVER_DATABASE_URL and dropped afterwards.

Migrating a database (`tapserver db upgrade`) takes seconds; copying one takes a fraction of that. So the
session migrates one template database once, and every test that wants a migrated database gets a copy
(``CREATE DATABASE ... TEMPLATE``) holding the same schema, TAP_SCHEMA, Alembic revision and grants.
Databases are dropped by a background thread (a DROP DATABASE waits for a checkpoint of the whole server,
seconds on a busy one; the drops pending together share one); :func:`finish` drops the template with them at
the end of the session and waits.
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

_counter = itertools.count()
_template: str | None = None
_template_lock = threading.Lock()
_forbidden: str | None = None


def server_url() -> URL:
    """The PostgreSQL server the tests use (the database part is replaced per test database)."""
    raw = os.environ.get("TAPSERVER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return make_url(raw).set(drivername="postgresql+psycopg")


def _maintenance_engine(server: URL | None = None) -> Engine:
    url = (server or server_url()).set(database="postgres")
    return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


@contextmanager
def _maintenance(server: URL | None = None) -> Iterator[Connection]:
    engine = _maintenance_engine(server)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


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
# handlers run while the daemon drop thread is alive.
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


def template_database() -> str:
    """The name of this session's template: an empty database brought up to date by `tapserver db upgrade`
    (with the settings of the environment) on first use, dropped by :func:`finish`."""
    global _template
    with _template_lock:
        if _template is None:
            from tapserver.config import load_settings
            from tapserver.migrate import upgrade

            name = _unique("tapserver_template")
            _create(name)
            try:
                upgrade(load_settings(database_url=server_url().set(database=name).render_as_string(
                    hide_password=False)))
            except BaseException:
                _drop_now(name)
                raise
            _template = name
        return _template


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
            _dropper.drop(_template)
            _template = None
    return _dropper.wait()


@contextmanager
def engine_for(url: URL) -> Iterator[Engine]:
    """An engine without pooling (tests open few connections and must not keep them), disposed after."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()
