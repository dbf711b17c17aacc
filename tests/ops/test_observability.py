"""Operations: /metrics, request ids, JSON logs and the query log (in-process, fast)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tapserver import observability
from tapserver.app import create_app
from tapserver.config import Settings, load_settings


@pytest.fixture(scope="module")
def client(migrated_settings: Settings) -> Iterator[TestClient]:
    settings = migrated_settings.model_copy(update={"workers": 0})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    before = client.get("/metrics").text
    assert client.get("/tap/tables/no_such.table").status_code == 404
    assert client.get("/tap/availability").status_code == 200
    after = client.get("/metrics")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    key = {"method": "GET", "endpoint": "/tap/tables/{table_name}", "status": "404"}
    assert value(after.text, "tapserver_http_requests_total", **key) == \
        value(before, "tapserver_http_requests_total", **key) + 1
    # the raw path never becomes a label
    assert "no_such.table" not in after.text
    assert value(after.text, "tapserver_http_response_bytes_total", endpoint="/tap/availability") > 0
    assert value(after.text, "tapserver_http_request_duration_seconds_count",
                 method="GET", endpoint="/tap/availability") >= 1


def test_unmatched_paths_share_one_label(client: TestClient) -> None:
    client.get("/nowhere/abc123")
    text = client.get("/metrics").text
    assert "abc123" not in text
    assert value(text, "tapserver_http_requests_total", method="GET", endpoint="<unmatched>", status="404") >= 1


def test_metrics_jobs_and_pool(client: TestClient) -> None:
    text = client.get("/metrics").text
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"tapserver_jobs", "tapserver_db_pool_connections", "tapserver_queries",
            "tapserver_query_duration_seconds"} <= names
    assert value(text, "tapserver_db_pool_connections", engine="query", state="size") >= 1


def test_jobs_by_phase_counted(client: TestClient, migrated_settings: Settings) -> None:
    client.app.state.__dict__.pop("_state_metrics_cache", None)  # type: ignore[attr-defined]
    response = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT 1 AS x"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    client.app.state.__dict__.pop("_state_metrics_cache", None)  # type: ignore[attr-defined]
    text = client.get("/metrics").text
    assert value(text, "tapserver_jobs", phase="PENDING") >= 1
    client.delete(response.headers["location"].replace(str(client.base_url), ""))


def test_sync_query_is_logged_and_counted(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    before = client.get("/metrics").text
    with caplog.at_level(logging.INFO, logger="tapserver.query"):
        response = client.get("/tap/sync", params={"LANG": "ADQL", "FORMAT": "csv",
                                                   "QUERY": "SELECT TOP 3 table_name FROM tap_schema.tables"})
    assert response.status_code == 200
    records = [r for r in caplog.records if r.name == "tapserver.query"]
    assert records, "no query log line"
    record = records[-1]
    assert record.status == "OK"  # type: ignore[attr-defined]
    assert record.rows == 3  # type: ignore[attr-defined]
    assert "tap_schema.tables" in record.adql  # type: ignore[attr-defined]
    assert record.duration_ms >= 0  # type: ignore[attr-defined]
    after = client.get("/metrics").text
    assert value(after, "tapserver_queries_total", mode="sync", status="OK") == \
        value(before, "tapserver_queries_total", mode="sync", status="OK") + 1
    assert value(after, "tapserver_query_rows_total", mode="sync") >= 3


def test_failed_query_is_logged_as_error(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tapserver.query"):
        response = client.get("/tap/sync", params={"LANG": "ADQL",
                                                   "QUERY": "SELECT 1/0 AS boom FROM tap_schema.tables"})
    assert response.status_code == 400
    records = [r for r in caplog.records if r.name == "tapserver.query"]
    assert records[-1].status == "ERROR"  # type: ignore[attr-defined]


def test_request_id_generated_and_echoed(client: TestClient) -> None:
    first = client.get("/tap/availability").headers["x-request-id"]
    second = client.get("/tap/availability").headers["x-request-id"]
    assert first and second and first != second
    assert client.get("/tap/availability", headers={"X-Request-ID": "abc-123.x"}).headers["x-request-id"] == \
        "abc-123.x"


@pytest.mark.parametrize("bad", ["a b", "x" * 200, "<script>", ""])
def test_insane_request_id_replaced(client: TestClient, bad: str) -> None:
    echoed = client.get("/tap/availability", headers={"X-Request-ID": bad}).headers["x-request-id"]
    assert echoed != bad and len(echoed) == 32


def test_request_id_on_errors(client: TestClient) -> None:
    response = client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": "SELEKT"},
                          headers={"X-Request-ID": "req-42"})
    assert response.status_code == 400
    assert response.headers["x-request-id"] == "req-42"


def test_json_log_lines_carry_request_id(client: TestClient) -> None:
    stream = io.StringIO()
    handler = observability.configure_logging("json", stream=stream)
    try:
        client.get("/tap/availability", headers={"X-Request-ID": "json-1"})
    finally:
        observability.configure_logging("text")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in lines if e["logger"] == "tapserver.access"]
    assert access and access[-1]["request_id"] == "json-1"
    assert access[-1]["endpoint"] == "/tap/availability" and access[-1]["status"] == 200
    assert {"time", "level", "message"} <= set(access[-1])
    assert handler not in logging.getLogger("tapserver").handlers


def test_text_log_format_is_default() -> None:
    assert load_settings().log_format == "text"
    assert load_settings(log_format="json").log_format == "json"


def test_route_template_without_probe_is_unmatched() -> None:
    assert observability.route_template({"type": "http", "path": "/x"}) == observability.UNMATCHED
    assert observability.route_template({"state": {"tapserver_route_template": "/a/{b}"}}) == "/a/{b}"
