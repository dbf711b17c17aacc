"""Fixtures of the provenance tests: a migrated database of their own, rows written with plain SQL, the app."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from tapserver.app import create_app
from tapserver.config import Settings
from tapserver.migrate import upgrade
from tests.conftest import settings_for
from tests.dbutil import engine_for, throwaway_database

# Insertion order that satisfies the foreign keys.
TABLE_ORDER = ("activitydescription", "entitydescription", "usagedescription", "generationdescription",
               "parameterdescription", "configfiledescription", "agent", "entity", "activity", "used",
               "wasgeneratedby", "wasderivedfrom", "wasinformedby", "wasassociatedwith", "wasattributedto",
               "hadmember", "parameter", "configfile")


def insert(engine: Engine, rows: Mapping[str, list[dict[str, Any]]]) -> None:
    """INSERT the rows (table -> list of column dicts) in foreign-key order, in one transaction."""
    with engine.begin() as conn:
        for table in TABLE_ORDER:
            for row in rows.get(table, []):
                columns = ", ".join(f'"{c}"' for c in row)
                values = ", ".join(f":{c}" for c in row)
                conn.execute(text(f'INSERT INTO provenance."{table}" ({columns}) VALUES ({values})'), row)


def clear(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'provenance."{t}"' for t in TABLE_ORDER)
                          + ", ivoa.obscore, ingest.source_file CASCADE"))


@pytest.fixture(scope="package")
def prov_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with throwaway_database("tapserver_prov") as url:
        settings = settings_for(url.render_as_string(hide_password=False), workers=0,
                                data_dir=tmp_path_factory.mktemp("prov-data"))
        upgrade(settings)
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
