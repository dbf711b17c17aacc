"""A client that goes away in the middle of a large sync result: the reader's transaction ends quickly."""

from __future__ import annotations

import socket
import struct
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tapserver.config import Settings
from tests.e2e.server import running_server
from tests.faults.conftest import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

# A cross join big enough to stream for many seconds (tens of millions of rows before MAXREC).
BIG = ("SELECT a.column_name, b.column_name AS b_name, c.column_name AS c_name "
       "FROM tap_schema.columns AS a, tap_schema.columns AS b, tap_schema.columns AS c")


@pytest.fixture()
def server(migrated_settings: Settings, tmp_path: Path) -> Iterator[str]:
    env = {"TAPSERVER_DATA_DIR": str(tmp_path / "data"), "TAPSERVER_WORKERS": "0",
           "TAPSERVER_HARD_MAXREC": "50000000", "TAPSERVER_BATCH_ROWS": "2000"}
    with running_server(migrated_settings.database_url, extra_env=env, log=tmp_path / "server.log") as base:
        yield base


def busy_reader_sessions(settings: Settings) -> int:
    """Sessions of the reader role in the test database that are running or inside a transaction."""
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = :role AND datname = :db "
                "AND state IS DISTINCT FROM 'idle'"),
                {"role": settings.reader_role, "db": make_url(settings.database_url).database}).scalar_one())
    finally:
        engine.dispose()


def test_disconnect_mid_stream_releases_the_transaction(server: str, migrated_settings: Settings) -> None:
    port = int(server.rsplit(":", 1)[1])
    query = urllib.parse.urlencode({"LANG": "ADQL", "FORMAT": "csv", "MAXREC": "40000000", "QUERY": BIG})
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.sendall(f"GET /tap/sync?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while len(received) < 2_000_000:
            chunk = sock.recv(65536)
            assert chunk, f"stream ended early: {received[:300]!r}"
            received += chunk
        assert received.startswith(b"HTTP/1.1 200")
        assert busy_reader_sessions(migrated_settings) >= 1, "the query is not running"
    finally:
        # Reset rather than close politely, like a client that crashed or lost the network.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    assert wait_until(lambda: busy_reader_sessions(migrated_settings) == 0, timeout=5), \
        "the reader's query or transaction is still open 5 s after the client left"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as again:  # the server still serves
        again.sendall(b"GET /tap/availability HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert again.recv(100).startswith(b"HTTP/1.1 200")

    def aborted_counted() -> bool:
        with urllib.request.urlopen(f"{server}/metrics", timeout=10) as response:
            return b'tapserver_queries_total{mode="sync",status="ABORTED"} 1.0' in response.read()

    assert wait_until(aborted_counted, timeout=5), "the abandoned query is not counted as ABORTED"
