"""Invalid queries that used to reach PostgreSQL (and fail there or run into the statement timeout) are
refused over HTTP as DALI errors: status 400, QUERY_STATUS=ERROR and a message saying what is wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tapserver.app import create_app
from tapserver.config import Settings


@pytest.fixture(scope="module")
def client(migrated_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(migrated_settings)) as test_client:
        yield test_client


@pytest.mark.parametrize(("adql", "fragment"), [
    ("SELECT obs_id FROM ivoa.obscore GROUP BY", "GROUP BY must be followed"),
    ("SELECT POINT('ICRS', 10, 95) FROM ivoa.obscore", "latitude 95 is outside -90..90"),
    ("SELECT * FROM ivoa.obscore, ivoa.obscore", "appears twice in FROM without aliases"),
    ("SELECT TOP 99999999999999999999 obs_id FROM ivoa.obscore", "TOP must be at most"),
    ("SELECT obs_id FROM ivoa.obscore OFFSET 99999999999999999999", "OFFSET must be at most"),
    ("SELECT obs_id FROM ivoa.obscore OFFSET -10", "unsigned integer"),
    ("SELECT 1", "needs a FROM clause"),
])
def test_refused_with_a_dali_error(client: TestClient, adql: str, fragment: str) -> None:
    response = client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql})
    assert response.status_code == 400, response.text
    assert 'name="QUERY_STATUS" value="ERROR"' in response.text
    assert fragment in response.text
