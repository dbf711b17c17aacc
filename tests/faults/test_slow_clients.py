"""uvicorn's own client limits in `tapserver serve`: idle connections closed, oversized headers refused.

Slow request headers and bodies are bounded by the reverse proxy (docs/operations.md): uvicorn has no
read timeout for them.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest

from tapserver import cli
from tapserver.config import Settings
from tests.e2e.server import running_server


def test_serve_passes_the_limits_to_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from tapserver.factory import Factory

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda server, *args: seen.update(vars(server.config)))
    monkeypatch.setattr(Factory, "check_connections", lambda factory: None)
    assert cli.main(["serve", "--keep-alive", "3", "--max-connections", "50", "--max-header-bytes", "8192"]) == 0
    assert (seen["timeout_keep_alive"], seen["limit_concurrency"], seen["h11_max_incomplete_event_size"]) == \
        (3, 50, 8192)
    assert cli.main(["serve"]) == 0  # the defaults
    assert seen["timeout_keep_alive"] == 5 and seen["limit_concurrency"] == 1000
    assert seen["h11_max_incomplete_event_size"] == 65536 and seen["timeout_graceful_shutdown"] == 30


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def test_idle_connection_closed_and_big_headers_refused(migrated_settings: Settings) -> None:
    url = migrated_settings.admin_url.render_as_string(hide_password=False).replace("+psycopg", "")
    with running_server(url) as base:
        with socket.create_connection(("127.0.0.1", _port(base)), timeout=15) as conn:
            conn.sendall(b"GET /tap/availability HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.recv(65536).startswith(b"HTTP/1.1 200")
            started = time.monotonic()
            while conn.recv(65536):  # the rest of the response, then the close
                pass
            assert time.monotonic() - started < 10  # closed after the 5 s keep-alive, not held open
        with socket.create_connection(("127.0.0.1", _port(base)), timeout=15) as conn:
            conn.sendall(b"GET /tap/availability HTTP/1.1\r\nHost: x\r\nX-Big: ")
            try:
                for _ in range(100):  # 1 MB of header, sent the way a slow or hostile client sends it
                    conn.sendall(b"a" * 10_000)
                    time.sleep(0.01)
                conn.sendall(b"\r\n\r\n")
                answer = conn.recv(65536)
            except (BrokenPipeError, ConnectionResetError):
                answer = b""
            assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:100]
        assert httpx.get(f"{base}/tap/availability").status_code == 200  # and the server serves on
