"""Throwaway databases for tests: created on the server of TAPSERVER_DATABASE_URL and dropped afterwards."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

_counter = itertools.count()


def server_url() -> URL:
    """The PostgreSQL server the tests use (the database part is replaced per test database)."""
    raw = os.environ.get("TAPSERVER_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return make_url(raw).set(drivername="postgresql+psycopg")


def _maintenance_engine() -> Engine:
    return create_engine(server_url().set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")


@contextmanager
def throwaway_database(prefix: str = "tapserver_test") -> Iterator[URL]:
    """Create an empty database with a unique name, yield its URL, drop it (even if connections remain)."""
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    engine = _maintenance_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url().set(database=name)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextmanager
def engine_for(url: URL) -> Iterator[Engine]:
    """An engine without pooling (tests open few connections and must not keep them), disposed after."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()
