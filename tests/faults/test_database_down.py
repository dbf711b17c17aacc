"""PostgreSQL goes away under a running server: quick 503 DALI errors, no hang, recovery without restart."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.server import running_server
from tests.faults.conftest import Cluster, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

QUERY = "SELECT TOP 5 table_name FROM tap_schema.tables"


def get(url: str, timeout: float = 15, data: bytes | None = None) -> tuple[int, bytes, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, data=data, timeout=timeout) as response:
            return response.status, response.read(), time.monotonic() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), time.monotonic() - started


def sync_url(base: str) -> str:
    return f"{base}/tap/sync?" + urllib.parse.urlencode({"LANG": "ADQL", "FORMAT": "csv", "QUERY": QUERY})


def test_database_down_gives_quick_503_then_recovers(pg_cluster: Cluster, tmp_path: Path) -> None:
    env = {"TAPSERVER_DATA_DIR": str(tmp_path / "data"), "TAPSERVER_WORKERS": "1", "TAPSERVER_POOL_SIZE": "2"}
    with running_server(pg_cluster.url, extra_env=env, log=tmp_path / "server.log") as base:
        status, body, _ = get(sync_url(base))
        assert status == 200, body
        pg_cluster.stop()
        try:
            status, _, elapsed = get(f"{base}/tap/tables")  # may be served from the catalog cache
            assert status in (200, 503) and elapsed < 10
            create = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": QUERY}).encode()
            for url, data in ((sync_url(base), None), (f"{base}/tap/async/nosuchjob", None),
                              (f"{base}/tap/async", create)):
                status, body, elapsed = get(url, data=data)
                assert status == 503, (url, status, body[:300])
                assert b"QUERY_STATUS" in body and b"ERROR" in body, body[:300]
                assert elapsed < 10, f"{url} took {elapsed:.1f} s"
            status, body, elapsed = get(f"{base}/tap/availability")
            assert b"<vosi:available>false</vosi:available>" in body, body
            assert elapsed < 10
            metrics = get(f"{base}/metrics")
            assert metrics[0] == 200  # /metrics answers with the database down
            assert b'status="503"' in metrics[1]
        finally:
            pg_cluster.start()
        assert wait_until(lambda: get(sync_url(base))[0] == 200, timeout=30), "no recovery after restart"
        status, body, _ = get(f"{base}/tap/availability")
        assert b"<vosi:available>true</vosi:available>" in body
