"""The results directory cannot be written: the async job ends in ERROR with a message, the server lives on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tapserver.app import create_app
from tapserver.config import Settings


@pytest.fixture()
def client(migrated_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory's parent should be\n")
    # A path under a regular file cannot be created or written, even by root (chmod would not stop root).
    settings = migrated_settings.model_copy(update={"data_dir": blocker / "data", "workers": 1})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_job_errors_and_server_stays_up(client: TestClient) -> None:
    created = client.post("/tap/async", data={"LANG": "ADQL", "PHASE": "RUN",
                                              "QUERY": "SELECT TOP 3 table_name FROM tap_schema.tables"},
                          follow_redirects=False)
    assert created.status_code == 303, created.text
    job = created.headers["location"].replace(str(client.base_url), "")
    try:
        deadline = time.monotonic() + 30
        phase = ""
        while time.monotonic() < deadline:
            phase = client.get(f"{job}/phase").text.strip()
            if phase in ("COMPLETED", "ERROR", "ABORTED"):
                break
            time.sleep(0.1)
        assert phase == "ERROR"
        document = client.get(job).text
        assert "<uws:errorSummary" in document and "<uws:message>" in document, document
        error = client.get(f"{job}/error")
        assert error.status_code == 200 and error.text.strip(), error.text
        # the server keeps answering, sync queries included
        assert client.get("/tap/availability").status_code == 200
        sync = client.get("/tap/sync", params={"LANG": "ADQL", "FORMAT": "csv",
                                               "QUERY": "SELECT TOP 1 table_name FROM tap_schema.tables"})
        assert sync.status_code == 200
    finally:
        client.delete(job)
