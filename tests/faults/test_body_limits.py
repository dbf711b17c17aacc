"""An oversized request body is a 413 DALI error document on every endpoint that reads parameters (url-encoded
and multipart, sync and async TAP, DataLink and the others), never a body cut short and passed on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tapserver.app import create_app
from tapserver.config import Settings, load_settings
from tests.faults.test_hostile_input import assert_dali_error

FORM_LIMIT = 100_000
UPLOAD_LIMIT = 200_000
MULTIPART_LIMIT = FORM_LIMIT + UPLOAD_LIMIT
QUERY = {"LANG": "ADQL", "QUERY": "SELECT 1 AS x FROM tap_schema.schemas", "FORMAT": "csv"}


def _app_client(settings: Settings, tmp_path: Path, **limits: int) -> TestClient:
    small = load_settings(database_url=settings.database_url, data_dir=tmp_path, workers=0, **limits)
    return TestClient(create_app(small), base_url=small.base_url)


@pytest.fixture(scope="module")
def client(migrated_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with _app_client(migrated_settings, tmp_path_factory.mktemp("limits"), form_limit_bytes=FORM_LIMIT,
                     upload_limit_bytes=UPLOAD_LIMIT) as test_client:
        yield test_client


def _job(client: TestClient) -> str:
    created = client.post("/tap/async", data=QUERY, follow_redirects=False)
    assert created.status_code == 303, created.text
    return str(created.headers["location"]).removeprefix(str(client.base_url))


ENDPOINTS = ["/tap/sync", "/tap/async", "{job}/parameters", "{job}/phase", "{job}",
             "/datalink/links", "/soda/sync", "/gadf/datastore", "/provsap", "/oai"]


def _too_big(encoding: str, size: int) -> dict[str, Any]:
    if encoding == "urlencoded":
        return {"data": {**QUERY, "PAD": "x" * size}}
    return {"data": QUERY, "files": {"t": ("t.xml", b"x" * size, "application/x-votable+xml")}}


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
@pytest.mark.parametrize("path", ENDPOINTS)
def test_oversized_body_is_413(client: TestClient, path: str, encoding: str) -> None:
    job = _job(client) if "{job}" in path else None
    limit = FORM_LIMIT if encoding == "urlencoded" else MULTIPART_LIMIT
    response = client.post(path.format(job=job), **_too_big(encoding, limit), follow_redirects=False)
    assert_dali_error(response, 413)
    assert f"request body is larger than {limit} bytes" in response.text
    if job is not None:
        job_page = client.get(job)
        assert "PAD" not in job_page.text and "<uws:phase>PENDING</uws:phase>" in job_page.text
        client.delete(job)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_body_within_the_limit_is_read_whole(client: TestClient, encoding: str) -> None:
    """Just under the limit, the last parameter still arrives (a cut body would lose it)."""
    size = (FORM_LIMIT if encoding == "urlencoded" else MULTIPART_LIMIT) - 2_000
    request = _too_big(encoding, size)
    request["data"] = {**request["data"], "MAXREC": "0"}
    response = client.post("/tap/sync", **request)
    assert response.status_code == 200, response.text
    assert response.text.strip() == "x", "MAXREC=0, sent last, was read"


def test_sync_query_past_the_default_limit_is_413(migrated_settings: Settings, tmp_path: Path) -> None:
    """The default limit (10 MB url-encoded): a body one byte past it is refused, not cut and run."""
    with _app_client(migrated_settings, tmp_path) as default:
        limit = default.app.state.factory.settings.form_limit_bytes  # type: ignore[attr-defined]
        assert limit == 10_000_000
        body = "LANG=ADQL&QUERY=SELECT%201%20AS%20x%20FROM%20tap_schema.schemas&FORMAT=csv&PAD="
        body += "x" * (limit + 1 - len(body))
        response = default.post("/tap/sync", content=body.encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert_dali_error(response, 413)
        ok = default.post("/tap/sync", content=body[:-1].encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert ok.status_code == 400 and "larger than 1048576 bytes" in ok.text  # read whole: the PAD field
