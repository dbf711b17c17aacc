"""Fixtures of the provenance tests: a migrated database of their own, rows written with plain SQL, the app."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from starlette.testclient import TestClient

from tapserver.app import create_app
from tapserver.config import Settings
from tests.conftest import settings_for
from tests.dbutil import engine_for, migrated_database

# Insertion order that satisfies the foreign keys.
TABLE_ORDER = ("activitydescription", "entitydescription", "usagedescription", "generationdescription",
               "parameterdescription", "configfiledescription", "agent", "entity", "activity", "used",
               "wasgeneratedby", "wasderivedfrom", "wasinformedby", "wasassociatedwith", "wasattributedto",
               "hadmember", "parameter", "configfile")


def insert(target: Engine | Connection, rows: Mapping[str, list[dict[str, Any]]]) -> None:
    """INSERT the rows (table -> list of column dicts) in foreign-key order, in one transaction: committed on
    an engine; on a connection, the one it is in, which the caller ends."""
    with target.begin() if isinstance(target, Engine) else nullcontext(target) as conn:
        for table in TABLE_ORDER:
            for row in rows.get(table, []):
                columns = ", ".join(f'"{c}"' for c in row)
                values = ", ".join(f":{c}" for c in row)
                conn.execute(text(f'INSERT INTO provenance."{table}" ({columns}) VALUES ({values})'), row)


def clear(engine: Engine) -> None:
    """Empty the provenance tables and the archive (DELETE: a TRUNCATE makes new files for every table and
    index, which costs about a second, and the tests clear tables of a few rows after every example)."""
    with engine.begin() as conn:
        for table in reversed(TABLE_ORDER):
            conn.execute(text(f'DELETE FROM provenance."{table}"'))
        # ingest.source_file refers to ivoa.obscore (ON DELETE SET NULL); the rest cascades from ivoa.obscore
        conn.execute(text("DELETE FROM ingest.source_file"))
        conn.execute(text("DELETE FROM ivoa.obscore"))


@pytest.fixture(scope="package")
def prov_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with migrated_database("tapserver_prov") as url:
        settings = settings_for(url.render_as_string(hide_password=False), workers=0,
                                data_dir=tmp_path_factory.mktemp("prov-data"))
        yield settings


@pytest.fixture(scope="package")
def prov_engine(prov_settings: Settings) -> Iterator[Engine]:
    with engine_for(prov_settings.admin_url) as engine:
        yield engine


@pytest.fixture(scope="package")
def app_client(prov_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(prov_settings)) as client:
        yield client


def t(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value)
