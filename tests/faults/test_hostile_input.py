"""Hostile input found by a security test: each one a 4xx DALI error document, never a 500.

Control characters in paths and parameters (NUL above all, which PostgreSQL refuses in text), UWS instants
outside the years 1 to 9999 once in UTC, integers past bigint, WAIT that is not a number.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def assert_dali_error(response: Any, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    document = etree.fromstring(response.content)
    info = document.find(f".//{VOTABLE_NS}INFO[@name='QUERY_STATUS']")
    assert info is not None and info.get("value") == "ERROR"
    assert (info.text or "").strip(), "the error document says what was wrong"


def job_path(client: TestClient, **params: str) -> str:
    response = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT 1 AS x", **params},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"].removeprefix(str(client.base_url))


@pytest.mark.parametrize("url", [
    "/files/%00",
    "/files/x%0aFORGED",
    "/files/ivo%3A%2F%2Fx%01",
    "/datalink/links?ID=%00",
    "/datalink/links?ID=ivo%3A%2F%2Fexample.org%2Fx%3Fa%1Fb",
    "/dataset?ID=%00",
    "/oai?verb=GetRecord&metadataPrefix=ivo_vor&identifier=%00",
    "/tap/sync?LANG=ADQL&QUERY=SELECT%201%00",
    "/tap/async?PHASE=%00",
    "/provsap?ID=%00",
    "/tap/async/x%00y",
    "/%00",
])
def test_control_characters_in_a_get_are_400(fuzz_client: TestClient, url: str) -> None:
    assert_dali_error(fuzz_client.get(url))


@pytest.mark.parametrize(("path", "params"), [
    ("/datalink/links", {"ID": "\x00"}),
    ("/tap/sync", {"LANG": "ADQL", "QUERY": "SELECT 1 AS x -- \x00"}),
    ("/tap/async", {"LANG": "ADQL", "QUERY": "SELECT 1 AS x", "RUNID": "a\x00b"}),
    ("/oai", {"verb": "GetRecord", "metadataPrefix": "ivo_vor", "identifier": "\x1b[2J"}),
    ("/provsap", {"ID": "a\x00b"}),
    ("/soda/sync", {"ID": "ivo://x\x00", "CIRCLE": "1 2 3"}),
    ("/gadf/datastore", {"QUERY": "SELECT obs_publisher_did FROM ivoa.obscore -- \x01"}),
])
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_control_characters_in_a_post_are_400(fuzz_client: TestClient, path: str, params: dict[str, str],
                                              encoding: str) -> None:
    if encoding == "multipart":
        response = fuzz_client.post(path, files={name: (None, value) for name, value in params.items()})
    else:
        response = fuzz_client.post(path, data=params)
    assert_dali_error(response)


def test_control_character_in_a_parameter_name_is_400(fuzz_client: TestClient) -> None:
    assert_dali_error(fuzz_client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT 1", "X\x00": "y"}))
    assert_dali_error(fuzz_client.get("/datalink/links?I%00D=x"))


def test_tab_and_newlines_stay_allowed(fuzz_client: TestClient) -> None:
    response = fuzz_client.get("/tap/sync", params={"LANG": "ADQL", "FORMAT": "csv",
                                                    "QUERY": "SELECT\t1 AS x\r\nFROM tap_schema.schemas"})
    assert response.status_code == 200, response.text


BAD_INSTANTS = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00Z", "10000-01-01",
                "2024-13-01T00:00:00Z", "\x00"]


@pytest.mark.parametrize("instant", BAD_INSTANTS)
def test_destruction_out_of_range_is_400(fuzz_client: TestClient, instant: str) -> None:
    created = fuzz_client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT 1 AS x",
                                                   "DESTRUCTION": instant}, follow_redirects=False)
    assert_dali_error(created)
    job = job_path(fuzz_client)
    assert_dali_error(fuzz_client.post(job + "/destruction", data={"DESTRUCTION": instant}))
    fuzz_client.delete(job)


@pytest.mark.parametrize("query", [
    {"AFTER": "9999-12-31T23:59:59-01:00"}, {"AFTER": "0001-01-01T00:00:00+00:01"},
    {"LAST": "9223372036854775808"}, {"LAST": "9" * 5000}, {"LAST": "-9223372036854775809"}, {"LAST": "nan"},
])
def test_job_list_filters_out_of_range_are_400(fuzz_client: TestClient, query: dict[str, str]) -> None:
    assert_dali_error(fuzz_client.get("/tap/async", params=query))


def test_job_list_filters_at_their_limits(fuzz_client: TestClient) -> None:
    for query in ({"LAST": "9223372036854775807"}, {"AFTER": "0001-01-01T00:00:00Z"},
                  {"AFTER": "9999-12-31T23:59:59Z"}):
        assert fuzz_client.get("/tap/async", params=query).status_code == 200


@pytest.mark.parametrize("wait", ["nan", "NaN", "-nan", "abc", "\x00"])
def test_wait_not_a_number_is_400(fuzz_client: TestClient, wait: str) -> None:
    job = job_path(fuzz_client)
    assert_dali_error(fuzz_client.get(job, params={"WAIT": wait}))
    fuzz_client.delete(job)


@pytest.mark.parametrize("wait", ["inf", "-inf", "1e999", "9" * 5000, "-5", "-1", "0"])
def test_wait_at_the_limits_is_honoured(fuzz_client: TestClient, wait: str) -> None:
    job = job_path(fuzz_client)  # PENDING; WAIT with PHASE=QUEUED returns at once
    response = fuzz_client.get(job, params={"WAIT": wait, "PHASE": "QUEUED"})
    assert response.status_code == 200, response.text
    fuzz_client.delete(job)


def test_a_value_the_database_refuses_is_400(fuzz_client: TestClient) -> None:
    """The last line of defence behind the parameter checks: a data exception (SQLSTATE class 22) raised
    by the database for a request's value is the request's fault."""
    from fastapi import FastAPI
    from sqlalchemy import text

    from tapserver import error_handlers

    engine = fuzz_client.app.state.factory.engines.query  # type: ignore[attr-defined]
    app = FastAPI()
    error_handlers.install(app)

    @app.get("/echo")
    def echo(value: str) -> str:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT CAST(:v AS text) || CAST(:v AS bigint)"), {"v": value}).scalar())

    client = TestClient(app)
    assert_dali_error(client.get("/echo", params={"value": "1\x00"}))
    assert "NUL" in client.get("/echo", params={"value": "1\x00"}).text
    assert_dali_error(client.get("/echo", params={"value": "9223372036854775808"}))
