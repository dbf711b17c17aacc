"""Database engines: the owner engine (migrations, ingest, jobs) and the read-only query engine."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

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
    common = {"pool_pre_ping": True, "pool_size": settings.pool_size, "max_overflow": settings.pool_size}
    admin = create_engine(settings.admin_url, **common)
    query = create_engine(
        settings.query_url,
        connect_args={"application_name": "tapserver-query"},
        **common,
    )
    return Engines(admin=admin, query=query)


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
