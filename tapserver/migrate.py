"""`tapserver db upgrade`: checks, Alembic migrations, TAP_SCHEMA from the catalog, the read-only role.

Every step is idempotent: a second run on an up-to-date database writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from tapserver.catalog import DECLARED_SCHEMAS
from tapserver.catalog.identifiers import database_name, split_qualified
from tapserver.catalog.store import write_tap_schema
from tapserver.config import Settings
from tapserver.db import describe_connection_error
from tapserver.errors import SetupError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# Functions the query role must never run (sleeping, signalling backends, changing settings, locks).
# EXECUTE is revoked from PUBLIC and granted back to the owner role.
DANGEROUS_FUNCTIONS = (
    "pg_sleep(double precision)",
    "pg_sleep_for(interval)",
    "pg_sleep_until(timestamp with time zone)",
    "pg_terminate_backend(integer, bigint)",
    "set_config(text, text, boolean)",
    "pg_advisory_lock(bigint)",
    "pg_advisory_xact_lock(bigint)",
    "pg_notify(text, text)",
    "pg_reload_conf()",
    "pg_rotate_logfile()",
    "txid_current()",
    "pg_current_xact_id()",
    "lo_creat(integer)",
    "lo_create(oid)",
    "lo_unlink(oid)",
    "lo_from_bytea(oid, bytea)",
    "lo_put(oid, bigint, bytea)",
    "pg_stat_reset()",
    "pg_switch_wal()",
)

PGSPHERE_EXTENSION = "pg_sphere"

# Schemas whose tables the reader must not see; `public` holds only the pgsphere types and functions.
INTERNAL_SCHEMAS = ("datalink", "ingest", "uws", "auth", "public")


@dataclass
class UpgradeReport:
    """What an upgrade did; ``changed`` is False when the database was already up to date."""

    migrations: list[str] = field(default_factory=list)
    tap_schema_written: bool = False
    grants_changed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.migrations or self.tap_schema_written or self.grants_changed)


def _show(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def admin_engine(settings: Settings) -> Engine:
    """An engine without pooling for one-off administrative work."""
    return create_engine(settings.admin_url, poolclass=NullPool)


def create_database_if_missing(settings: Settings) -> bool:
    """Create the configured database if it does not exist (connecting to the `postgres` database)."""
    url = settings.admin_url
    engine = create_engine(url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database})
            if exists.first():
                return False
            conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
            return True
    except (OperationalError, DBAPIError) as exc:
        raise SetupError(describe_connection_error(exc, f"PostgreSQL at {_show(url)}")) from None
    finally:
        engine.dispose()


def check_server(conn: Connection, url: URL) -> None:
    """Raise SetupError if the server lacks pgsphere."""
    available = conn.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = :name"), {"name": PGSPHERE_EXTENSION}
    ).first()
    if not available:
        raise SetupError(
            f"the PostgreSQL server of {_show(url)} has no pgsphere extension "
            "(install it: apt-get install postgresql-15-pgsphere)"
        )


def _alembic_config(conn: Connection, settings: Settings | None = None) -> Config:
    """The Alembic configuration; data migrations read the data roots (relative file locations) from it."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    cfg.attributes["data_roots"] = [str(root) for root in settings.data_roots] if settings else []
    return cfg


def pending_migrations(conn: Connection) -> list[str]:
    """Revisions not yet applied, oldest first."""
    script = ScriptDirectory.from_config(_alembic_config(conn))
    current = MigrationContext.configure(conn).get_current_revision()
    revisions = [r.revision for r in script.walk_revisions("base", "head")]
    revisions.reverse()
    if current is None:
        return revisions
    return revisions[revisions.index(current) + 1:]


def upgrade(settings: Settings) -> UpgradeReport:
    """Bring the database to the current schema, TAP_SCHEMA and grants. Safe to run any number of times."""
    report = UpgradeReport()
    engine = admin_engine(settings)
    try:
        # One connection (one server process started) for the three steps, each committed on its own.
        with engine.connect() as conn:
            check_server(conn, settings.admin_url)
            report.migrations = pending_migrations(conn)
            conn.commit()
            if report.migrations:
                command.upgrade(_alembic_config(conn, settings), "head")
                conn.commit()
            with conn.begin():
                report.tap_schema_written = write_tap_schema(conn, DECLARED_SCHEMAS)
            with conn.begin():
                report.grants_changed = apply_grants(conn, settings)
    except (OperationalError, DBAPIError) as exc:
        if "connect" in str(exc).lower() or isinstance(exc, OperationalError):
            raise SetupError(describe_connection_error(exc, f"the database {_show(settings.admin_url)}")) from None
        raise
    finally:
        engine.dispose()
    return report


def apply_grants(conn: Connection, settings: Settings) -> list[str]:
    """Make the reader role able to read exactly the tables listed in TAP_SCHEMA; return what changed."""
    role = settings.reader_role
    database = settings.admin_url.database
    changed: list[str] = []
    quoted_role = conn.exec_driver_sql("SELECT quote_ident(%s)", (role,)).scalar_one()
    quoted_db = conn.exec_driver_sql("SELECT quote_ident(%s)", (database,)).scalar_one()
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if not exists:
        # Roles are cluster-wide; another database of the cluster may be creating it right now.
        conn.exec_driver_sql(
            f"DO $$ BEGIN CREATE ROLE {quoted_role} LOGIN NOINHERIT; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        changed.append(f"created role {role}")
    if settings.reader_password:
        conn.exec_driver_sql(f"ALTER ROLE {quoted_role} PASSWORD %s", (settings.reader_password,))

    wanted_settings = {
        "default_transaction_read_only": "on",
        "statement_timeout": f"{int(settings.execution_duration * 1000)}",
        "search_path": "public",
        # Generated SQL writes string literals the standard way ('a\b' is a, backslash, b): no server or
        # database default may change how they are read (tapserver.tap.query also sets it per transaction).
        "standard_conforming_strings": "on",
    }
    current = dict(
        item.split("=", 1)
        for (config,) in conn.execute(text(
            "SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
            "JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = :r AND d.datname = :d"
        ), {"r": role, "d": database})
        for item in [config]
    )
    for name, value in wanted_settings.items():
        if current.get(name) != value:
            conn.exec_driver_sql(f"ALTER ROLE {quoted_role} IN DATABASE {quoted_db} SET {name} = '{value}'")
            changed.append(f"{name}={value}")

    if not conn.execute(text("SELECT has_database_privilege(:r, :d, 'CONNECT')"),
                        {"r": role, "d": database}).scalar_one():
        conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {quoted_db} TO {quoted_role}")
        changed.append("connect")

    # TAP_SCHEMA lists names as ADQL writes them (TAP_SCHEMA, "CamelSchema"): compare PostgreSQL's names.
    published = {tuple(database_name(p) for p in split_qualified(r[0])[-2:])
                 for r in conn.execute(text("SELECT table_name FROM tap_schema.tables"))}
    published_schemas = {database_name(r[0])
                         for r in conn.execute(text("SELECT schema_name FROM tap_schema.schemas"))}
    for schema in sorted(published_schemas | set(INTERNAL_SCHEMAS)):
        if not conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first():
            continue
        quoted_schema = conn.execute(text("SELECT quote_ident(:s)"), {"s": schema}).scalar_one()
        has_usage = conn.execute(
            text("SELECT has_schema_privilege(:r, :s, 'USAGE')"), {"r": role, "s": schema}
        ).scalar_one()
        want_usage = schema in published_schemas or schema == "public"  # public holds pgsphere
        if has_usage != want_usage:
            verb = "GRANT USAGE ON SCHEMA {s} TO {r}" if want_usage else "REVOKE ALL ON SCHEMA {s} FROM {r}"
            conn.exec_driver_sql(verb.format(s=quoted_schema, r=quoted_role))
            changed.append(f"usage {schema}={want_usage}")
    # Every relation in the published and internal schemas: SELECT exactly when listed in TAP_SCHEMA.
    relations = conn.execute(text(
        "SELECT n.nspname, c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname = ANY(:schemas)"
    ), {"schemas": sorted(published_schemas | set(INTERNAL_SCHEMAS))}).all()
    for schema, name, relation in relations:
        has = conn.execute(
            text("SELECT has_table_privilege(:r, :t, 'SELECT')"), {"r": role, "t": relation}
        ).scalar_one()
        want = (schema, name) in published
        if has != want:
            verb = "GRANT SELECT ON {t} TO {r}" if want else "REVOKE ALL ON {t} FROM {r}"
            conn.exec_driver_sql(verb.format(t=relation, r=quoted_role))
            changed.append(f"select {schema}.{name}={want}")
    changed += _revoke_dangerous_functions(conn, role)
    return changed


def _revoke_dangerous_functions(conn: Connection, role: str) -> list[str]:
    changed = []
    superuser = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()
    for signature in DANGEROUS_FUNCTIONS:
        oid = conn.execute(text("SELECT to_regprocedure(:f)"), {"f": signature}).scalar_one()
        if oid is None:
            continue
        allowed = conn.execute(
            text("SELECT has_function_privilege(:r, :f, 'EXECUTE')"), {"r": role, "f": signature}
        ).scalar_one()
        if allowed and superuser:
            conn.exec_driver_sql(f"REVOKE EXECUTE ON FUNCTION {signature} FROM PUBLIC")
            conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {signature} TO CURRENT_USER")
            changed.append(f"revoked {signature}")
    return changed
