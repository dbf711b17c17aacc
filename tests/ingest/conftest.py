"""Fixtures of the ingestion tests: the staged DL3 files, databases of their own, and a runner for the command."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest.cli import add_arguments, run
from tapserver.config import Settings
from tests.conftest import settings_for
from tests.dbutil import migrated_database

REPO = Path(__file__).resolve().parents[2]
DL3 = REPO.parent / "shared" / "data" / "dl3"
DEMO = REPO / "demo" / "data" / "fact"
DEMO_CONFIG = REPO / "demo" / "fact.toml"

requires_dl3 = pytest.mark.skipif(not DL3.is_dir(), reason=f"the staged DL3 files are not at {DL3}")

# Every table an ingest writes; a repeated ingest must leave all of them as they were.
TABLES = ("ivoa.obscore", "ivoa.obscore_hea", "obsconfig.obsconfig", "datalink.product", "ingest.source_file",
          "provenance.entity", "provenance.activity", "provenance.activitydescription", "provenance.agent",
          "provenance.used", "provenance.wasgeneratedby", "provenance.wasderivedfrom", "provenance.wasinformedby",
          "provenance.wasassociatedwith",
          "provenance.parameter", "provenance.configfile")


@dataclass(frozen=True)
class Result:
    """Exit code and output of one `tapserver ingest`."""

    code: int
    out: str
    err: str


class Archive:
    """A migrated database of its own, and `tapserver ingest` run against it in this process. Its reads share one
    connection (autocommit: each statement sees what was committed before it), closed by :meth:`close`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def ingest(self, *args: str | Path) -> Result:
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        namespace = parser.parse_args([str(a) for a in args])
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = run(namespace, self.settings)
        return Result(code, out.getvalue(), err.getvalue())

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with self._connection().cursor(row_factory=psycopg.rows.dict_row) as cur:
            return cur.execute(sql, params or None).fetchall()

    def scalar(self, sql: str, *params: Any) -> Any:
        row = self._connection().execute(sql, params or None).fetchone()
        return row[0] if row else None

    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Row count and a digest of the content of every table an ingest writes."""
        snapshot = {}
        for table in TABLES:
            [row] = self.rows(f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                              f" AS digest FROM {table} t")
            snapshot[table] = (int(row["n"]), str(row["digest"]))
        return snapshot


def _archive(prefix: str) -> Iterator[Archive]:
    with migrated_database(prefix) as url:
        settings = settings_for(url.render_as_string(hide_password=False), base_url="https://archive.example")
        archive = Archive(settings)
        try:
            yield archive
        finally:
            archive.close()


# Every table that holds an archive's rows, children before the tables they refer to: TAP_SCHEMA and the
# Alembic revision belong to the schema, not to the data.
_DATA_TABLES = """
SELECT c.oid, format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'tap_schema')
   AND NOT (n.nspname = 'public' AND c.relname = 'alembic_version')
"""
_REFERENCES = "SELECT conrelid, confrelid FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid"


def empty_archive(conn: psycopg.Connection[Any]) -> None:
    """Delete every row of the archive's data tables in one transaction (DELETE: a TRUNCATE makes new files
    for every table and index, which costs more than a copy of the template), so that it is again as a new
    copy holds it."""
    with conn.transaction():
        tables = dict(conn.execute(_DATA_TABLES).fetchall())
        referrers: dict[int, set[int]] = {oid: set() for oid in tables}
        for child, parent in conn.execute(_REFERENCES).fetchall():
            if child in tables and parent in tables:
                referrers[parent].add(child)
        done: set[int] = set()

        def delete(oid: int) -> None:
            if oid in done:
                return
            done.add(oid)
            for child in referrers[oid]:
                delete(child)
            conn.execute(f"DELETE FROM {tables[oid]}")

        for oid in sorted(tables, key=tables.__getitem__):
            delete(oid)


@pytest.fixture(scope="module")
def _module_database() -> Iterator[Settings]:
    for shared in _archive("tapserver_ingest"):
        yield shared.settings


@pytest.fixture()
def archive(_module_database: Settings) -> Iterator[Archive]:
    """An empty archive for one test: the database of the module, emptied before the test (a copy of the
    template per test costs the server far more)."""
    archive = Archive(_module_database)
    try:
        empty_archive(archive._connection())
        yield archive
    finally:
        archive.close()


@pytest.fixture(scope="module")
def module_archive() -> Iterator[Archive]:
    """An empty archive shared by the tests of one module."""
    yield from _archive("tapserver_ingest_module")


@pytest.fixture(scope="session")
def staged_ingest() -> Iterator[tuple[Archive, dict[str, Result]]]:
    """An archive holding every dataset folder of the staged data, each ingested with default options as a
    collection of its own, and the outcome of each ingest. Shared by the modules that only read it
    (test_instruments, test_footprints_hea): in one test process the ingest runs once."""
    if not DL3.is_dir():
        pytest.skip(f"the staged DL3 files are not at {DL3}")
    for archive in _archive("tapserver_ingest_staged"):
        datasets = sorted(p.name for p in DL3.iterdir() if p.is_dir())
        yield archive, {name: archive.ingest(DL3 / name, "--collection", name) for name in datasets}


@pytest.fixture(scope="session")
def staged_archive(staged_ingest: tuple[Archive, dict[str, Result]]) -> Archive:
    return staged_ingest[0]
