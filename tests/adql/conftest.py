"""Fixtures of the ADQL suite: a migrated database of its own with the fixture rows, and its engines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool

from tapserver.catalog import Catalog
from tapserver.catalog.store import load_catalog
from tapserver.config import Settings, load_settings
from tests.adql.fixtures import insert_fixture_rows
from tests.dbutil import migrated_database


@dataclass
class AdqlDatabase:
    """A migrated database with the fixture rows: the owner and reader engines, and its catalog."""

    settings: Settings
    admin: Engine
    reader: Engine
    catalog: Catalog


@pytest.fixture(scope="session")
def adql_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdqlDatabase]:
    """Our own database (the rows would disturb other suites sharing the session database)."""
    with migrated_database("tapserver_adql") as url:
        settings = load_settings(database_url=url.render_as_string(hide_password=False),
                                 data_dir=tmp_path_factory.mktemp("adql-data"))
        admin = create_engine(settings.admin_url, poolclass=NullPool)
        reader = create_engine(settings.query_url, poolclass=NullPool)
        with admin.begin() as conn:
            insert_fixture_rows(conn)
        with admin.connect() as conn:
            catalog = load_catalog(conn)
        try:
            yield AdqlDatabase(settings, admin, reader, catalog)
        finally:
            admin.dispose()
            reader.dispose()


@pytest.fixture(scope="session")
def reader_conn(adql_db: AdqlDatabase) -> Iterator[Connection]:
    """One read-only connection for the whole suite (each case runs in its own transaction)."""
    with adql_db.reader.connect() as conn:
        yield conn
