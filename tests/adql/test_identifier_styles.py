"""TAP_SCHEMA written in the other styles (upper-case ``TAP_SCHEMA``, delimited mixed-case names) works end to
end: names match by ADQL's rules, regular ones are emitted folded, delimited ones exactly, through the app."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from astropy.io.votable import parse_single_table
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from tapserver.adql import translate
from tapserver.app import create_app
from tapserver.catalog.store import load_catalog
from tapserver.config import Settings
from tapserver.migrate import upgrade
from tests.tap_schema_styles import CAMEL_ROWS, styled_database


@pytest.fixture(scope="module")
def styled_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with styled_database("tapserver_styles", tmp_path_factory.mktemp("styles-data")) as settings:
        yield settings


@pytest.fixture(scope="module")
def client(styled_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(styled_settings)) as test_client:
        yield test_client


def sync(client: TestClient, adql: str) -> list[tuple[object, ...]]:
    response = client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql})
    assert response.status_code == 200, response.text
    table = parse_single_table(io.BytesIO(response.content)).to_table()
    return [tuple(_plain(value) for value in row) for row in table]


def _plain(value: object) -> object:
    """A VOTable cell as a Python value, NULL (masked, or an empty string) as None."""
    if np.ma.is_masked(value) or value == "":
        return None
    return value.item() if isinstance(value, np.generic) else value


def names(client: TestClient, adql: str) -> list[str]:
    response = client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql})
    assert response.status_code == 200, response.text
    return [str(v) for v in parse_single_table(io.BytesIO(response.content)).to_table().columns[0]]


def test_sql_uses_the_folded_and_the_delimited_names(styled_settings: Settings) -> None:
    engine = create_engine(styled_settings.admin_url, poolclass=NullPool)
    with engine.connect() as conn:
        catalog = load_catalog(conn)
    engine.dispose()
    assert "TAP_SCHEMA.tables" in catalog.table_names()
    assert '"CamelSchema"."CamelTable"' in catalog.table_names()
    cases = [
        ("SELECT table_name FROM TAP_SCHEMA.tables", "FROM tap_schema.tables"),
        ("SELECT table_name FROM tap_schema.TABLES", "FROM tap_schema.tables"),
        ('SELECT "MixedCase", PLAIN FROM "CamelSchema"."CamelTable"', 'FROM "CamelSchema"."CamelTable"'),
        ('SELECT "MixedCase", PLAIN FROM "CamelSchema"."CamelTable"', '."MixedCase", '),
        ('SELECT "MixedCase", PLAIN FROM "CamelSchema"."CamelTable"', ".plain"),
    ]
    for adql, fragment in cases:
        assert fragment in translate(adql, catalog).sql, (adql, translate(adql, catalog).sql)


def test_upper_case_tap_schema_is_queried(client: TestClient) -> None:
    tables = names(client, "SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = 'TAP_SCHEMA'")
    assert "TAP_SCHEMA.tables" in tables and "TAP_SCHEMA.columns" in tables
    assert names(client, "SELECT schema_name FROM tap_schema.schemas WHERE schema_name LIKE '%Camel%'") == \
        ['"CamelSchema"']
    columns = names(client, "SELECT c.column_name FROM TAP_SCHEMA.columns AS c "
                            "JOIN TAP_SCHEMA.tables AS t ON c.table_name = t.table_name "
                            "WHERE t.table_name = '\"CamelSchema\".\"CamelTable\"' ORDER BY c.column_index")
    assert columns == ['"MixedCase"', "PLAIN", '"Name"']


@pytest.mark.parametrize("adql", [
    'SELECT "MixedCase", PLAIN, "Name" FROM "CamelSchema"."CamelTable" ORDER BY "MixedCase"',
    'SELECT t."MixedCase", t.plain, t."Name" FROM "CamelSchema"."CamelTable" AS t ORDER BY 1',
    'SELECT "CamelSchema"."CamelTable"."MixedCase", "CamelTable".Plain, "Name" '
    'FROM "CamelSchema"."CamelTable" ORDER BY 1',
    'SELECT * FROM "CamelSchema"."CamelTable" ORDER BY "MixedCase"',
    'SELECT a."MixedCase", b.plain, a."Name" FROM "CamelSchema"."CamelTable" AS a '
    'JOIN "CamelSchema"."CamelTable" AS b USING ("MixedCase") ORDER BY 1',
])
def test_delimited_mixed_case_names_are_reachable(client: TestClient, adql: str) -> None:
    assert sync(client, adql) == CAMEL_ROWS


def test_delimited_names_match_exactly(client: TestClient) -> None:
    response = client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL",
                                              "QUERY": 'SELECT "mixedcase" FROM "CamelSchema"."CamelTable"'})
    assert response.status_code == 400
    assert "mixedcase" in response.text
    response = client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL",
                                              "QUERY": 'SELECT * FROM "camelschema"."CamelTable"'})
    assert response.status_code == 400
    assert "no schema" in response.text


def test_result_fields_keep_the_listed_names_and_metadata(client: TestClient) -> None:
    response = client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL",
                                              "QUERY": 'SELECT * FROM "CamelSchema"."CamelTable"'})
    fields = parse_single_table(io.BytesIO(response.content)).fields
    assert [f.name for f in fields] == ["MixedCase", "PLAIN", "Name"]
    assert (fields[1].unit, fields[1].ucd) == ("deg", "pos.eq.ra")


def test_vosi_tables_lists_the_names_as_tap_schema_does(client: TestClient) -> None:
    text = client.get("/tap/tables").text
    assert "<name>TAP_SCHEMA.tables</name>" in text
    assert "<name>&quot;CamelSchema&quot;.&quot;CamelTable&quot;</name>" in text or \
        '<name>"CamelSchema"."CamelTable"</name>' in text


def test_db_upgrade_after_restyling_lists_each_table_once(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`db upgrade` on a TAP_SCHEMA written in the other style replaces its rows of our schemas (listed
    TAP_SCHEMA) instead of adding a second listing, and keeps the operator's own schema."""
    with styled_database("tapserver_restyled", tmp_path_factory.mktemp("restyled-data")) as settings:
        upgrade(settings)
        engine = create_engine(settings.admin_url, poolclass=NullPool)
        with engine.connect() as conn:
            catalog = load_catalog(conn)
        engine.dispose()
    names = catalog.table_names()
    assert len(names) == len(set(names))
    assert "tap_schema.tables" in names and "TAP_SCHEMA.tables" not in names
    assert '"CamelSchema"."CamelTable"' in names
    assert "FROM tap_schema.tables" in translate("SELECT table_name FROM TAP_SCHEMA.tables", catalog).sql
